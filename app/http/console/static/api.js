// The public API, called as a brand's frontend calls it: POST /graphql with a JSON body and the
// signed-in key (HTTP Basic), and GET /downloads/... with the same key. The key lives in
// sessionStorage: it is gone when the tab closes, and other tabs never see it.

const KEY = "pointledger.console.key";

// Every operation the console sends, one file each in documents/ (tests/test_console_documents.py
// validates each against schema.graphql).
export const DOCUMENTS = [
  "Organization", "SearchCustomers", "Customer", "LedgerEntries", "LedgerClosingBalance",
  "PointsRedemptions", "ExpirySchedule", "ExpiredPoints", "TierHistory", "PromotionHistory",
  "TrackerHistory", "PointsTransfers", "Transactions", "CustomerCoupons", "CouponRedemptions",
  "LinkedPromoCodes", "Interactions", "BehaviouralEvents", "Leads", "CustomerSegments",
  "SegmentHistory", "IdentifierHistory", "AdjustPoints", "ResendCoupon", "ChangeIdentifier",
  "LinkPromoCode",
];

const texts = new Map();

export async function loadDocuments() {
  await Promise.all(DOCUMENTS.map(async (name) => {
    const response = await fetch(`documents/${name}.graphql`);
    if (!response.ok) throw new Error(`documents/${name}.graphql: ${response.status}`);
    texts.set(name, await response.text());
  }));
}

export function signedIn() {
  return sessionStorage.getItem(KEY) !== null;
}

export function signIn(keyId, secret) {
  sessionStorage.setItem(KEY, btoa(unescape(encodeURIComponent(`${keyId}:${secret}`))));
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

function authorization() {
  return { Authorization: `Basic ${sessionStorage.getItem(KEY)}` };
}

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// The operation's data; a refused key or a request-level error throws ApiError.
export async function graphql(name, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...authorization() },
    body: JSON.stringify({ query: texts.get(name), variables, operationName: name }),
    cache: "no-store",
  });
  if (response.status === 401) throw new ApiError("The key was refused: sign in again.", 401);
  const body = await response.json().catch(() => null);
  if (!body) throw new ApiError(`The server answered ${response.status}.`, response.status);
  if (body.errors && body.errors.length) throw new ApiError(body.errors.map((error) => error.message).join(" "), response.status);
  return body.data;
}

// Fetches /downloads/<list>.<format> with the key and hands the file to the browser.
export async function download(list, format, parameters) {
  const query = new URLSearchParams();
  for (const [name, value] of parameters) query.append(name, value);
  const response = await fetch(`/downloads/${list}.${format}?${query}`, { headers: authorization(), cache: "no-store" });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    const error = body && body.errors ? body.errors[0].message : `The server answered ${response.status}.`;
    throw new ApiError(error, response.status);
  }
  const disposition = response.headers.get("content-disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = match ? match[1] : `${list}.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

// A key for a retried write: the same request sent twice makes one change.
export function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}
