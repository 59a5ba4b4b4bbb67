// The member-care console: sign in, search customers, a customer's tabs and actions.
// Routes live in the URL's hash: #/ (search), #/customer/<user id>/<tab>/<sub-tab>.

import { ApiError, graphql, idempotencyKey, loadDocuments, signedIn, signIn, signOut } from "./api.js";
import { field, h, replace, select } from "./dom.js";
import { addDecimals, isDecimal, negate, setTimeZone, startOfDay, time, timeZone } from "./format.js";
import { listView } from "./list.js";
import { customerTabs } from "./tabs.js";

const main = document.getElementById("main");
const organizationLabel = document.getElementById("organization");
const signOutButton = document.getElementById("sign-out");
const SEARCH_PAGE_SIZE = 10;
const SEARCH_DELAY_MS = 250;
let organization = null;
let shownLists = []; // the lists on screen, whose observers stop when the screen changes

const CRITERIA = [["name", "Name"], ["mobile", "Mobile"], ["email", "Email"], ["externalId", "External id"],
  ["cardNumber", "Card number"], ["userId", "User id"]];

function show(...children) {
  shownLists.forEach((list) => list.disconnect());
  shownLists = [];
  replace(main, ...children);
}

function keep(list) {
  shownLists.push(list);
  return list.element;
}

// --- Typed errors at their fields -----------------------------------------------------------

function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((element) => { element.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((element) => element.removeAttribute("aria-invalid"));
}

// The error's message below the control of the field it names (else in the form's own line).
function showError(form, error) {
  const target = error.field && form.querySelector(`.field-error[data-error-for="${CSS.escape(error.field)}"]`);
  const place = target || form.querySelector(".form-error");
  place.textContent = error.message;
  const control = error.field && form.querySelector(`[data-field="${CSS.escape(error.field)}"]`);
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.focus();
  }
}

function formError() {
  return h("p", { class: "form-error field-error", role: "alert" });
}

// --- Sign in --------------------------------------------------------------------------------

function signInScreen(message) {
  const keyId = h("input", { name: "keyId", autocomplete: "username", required: true, spellcheck: "false" });
  const secret = h("input", { name: "secret", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "card sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    h("p", {}, "With an API key holding the member-care role. The key is kept for this tab only."),
    field("API key id", keyId, "keyId"),
    field("Secret", secret, "secret"),
    formError(),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    signIn(keyId.value.trim(), secret.value);
    try {
      await start();
      location.hash = "#/";
      route();
    } catch (error) {
      signOut();
      showError(form, { message: error.message });
    }
  });
  show(form);
  if (message) showError(form, { message });
  keyId.focus();
}

async function start() {
  const data = await graphql("Organization");
  organization = data.organization;
  setTimeZone(organization.timeZone);
  organizationLabel.textContent = `${organization.name} · times in ${organization.timeZone}`;
  signOutButton.hidden = false;
}

signOutButton.addEventListener("click", () => {
  signOut();
  organization = null;
  organizationLabel.textContent = "";
  signOutButton.hidden = true;
  location.hash = "#/";
  signInScreen();
});

// --- Search ---------------------------------------------------------------------------------

function searchScreen(parameters) {
  const by = select("by", CRITERIA, parameters.get("by") || "name");
  by.setAttribute("aria-label", "Search by");
  const text = h("input", { name: "q", type: "search", value: parameters.get("q") || "", autocomplete: "off",
    placeholder: "Start typing…", "aria-controls": "results" });
  const error = h("p", { class: "field-error", id: "search-error", role: "alert", dataset: { errorFor: "search" } });
  text.setAttribute("aria-describedby", error.id);
  const results = h("ol", { id: "results", class: "results", "aria-live": "polite" });
  const previous = h("button", { type: "button", class: "previous", disabled: true }, "Previous page");
  const next = h("button", { type: "button", class: "next", disabled: true }, "Next page");
  const cursors = [null]; // the cursor of each page shown so far: Previous goes back one
  let timer = null;
  let asked = 0;

  async function search() {
    const mine = ++asked;
    const value = text.value.trim();
    const criteria = value ? { [by.value]: value } : {};
    results.setAttribute("aria-busy", "true");
    results.classList.add("waiting");
    try {
      const page = (await graphql("SearchCustomers", { search: criteria, first: SEARCH_PAGE_SIZE, after: cursors.at(-1) })).customers;
      if (mine !== asked) return;
      if (page.code) {
        error.textContent = page.message;
        replace(results);
        next.disabled = true;
        return;
      }
      error.textContent = "";
      replace(results, page.customers.length ? page.customers.map((customer) => h("li", {},
        h("a", { href: `#/customer/${encodeURIComponent(customer.userId)}` },
          h("span", { class: "name" }, `${customer.firstname} ${customer.lastname}`.trim() || "(no name)"),
          h("span", { class: "detail" }, [customer.mobile, customer.email, customer.externalId].filter(Boolean).join(" · ")),
          h("span", { class: "detail" }, `#${customer.userId} · ${customer.currentSlab} · ${customer.loyaltyPoints} points`)))) :
        h("li", { class: "none" }, "No customer matches."));
      next.disabled = !page.pageInfo.hasNextPage;
      next.dataset.cursor = page.pageInfo.endCursor || "";
      previous.disabled = cursors.length < 2;
    } catch (failure) {
      if (mine === asked) error.textContent = failure.message;
    } finally {
      if (mine === asked) {
        results.removeAttribute("aria-busy");
        results.classList.remove("waiting");
      }
    }
  }

  function restart() {
    cursors.length = 1;
    history.replaceState(null, "", `#/?by=${encodeURIComponent(by.value)}&q=${encodeURIComponent(text.value)}`);
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS); // one request once typing pauses
  }

  text.addEventListener("input", restart);
  by.addEventListener("change", restart);
  next.addEventListener("click", () => { cursors.push(next.dataset.cursor); search(); });
  previous.addEventListener("click", () => { cursors.pop(); search(); });
  show(h("section", { class: "search", "aria-labelledby": "search-title" },
    h("h1", { id: "search-title" }, "Find a customer"),
    h("form", { role: "search", class: "search-form", onsubmit: (event) => { event.preventDefault(); clearTimeout(timer); search(); } },
      by, text, error),
    results,
    h("nav", { class: "pager", "aria-label": "Result pages" }, previous, next)));
  search();
  text.focus();
}

// --- Tabs -----------------------------------------------------------------------------------

// A row of tabs (WAI-ARIA tabs: arrow keys move between them); `choose(id)` shows one.
function tabBar(label, tabs, selected, choose, className) {
  const buttons = tabs.map((tab) => h("button", {
    type: "button", role: "tab", id: `tab-${className}-${tab.id}`, "aria-selected": String(tab.id === selected),
    tabindex: tab.id === selected ? "0" : "-1", dataset: { tab: tab.id }, onclick: () => choose(tab.id),
  }, tab.label));
  const bar = h("div", { role: "tablist", "aria-label": label, class: `tabs ${className}` }, buttons);
  bar.addEventListener("keydown", (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: buttons.length - 1 - index };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const target = buttons[(index + moves[event.key] + buttons.length) % buttons.length];
    target.focus();
    target.click();
  });
  return bar;
}

// --- Customer -------------------------------------------------------------------------------

function summaryTable(customer) {
  return h("div", { class: "table-box" }, h("table", { class: "list summaries" },
    h("caption", {}, "Points by program"),
    h("thead", {}, h("tr", {}, ["Program", "Points", "Spendable", "Pending", "Promised", "Lifetime", "Redeemed", "Expired",
      "Returned", "Adjusted", "Slab", "Next slab"].map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, customer.pointsSummaries.map((summary) => h("tr", { dataset: { program: summary.programCode } },
      [["Program", summary.programCode], ["Points", summary.loyaltyPoints, "points"], ["Spendable", summary.spendablePoints],
        ["Pending", summary.pendingPoints], ["Promised", summary.promisedPoints], ["Lifetime", summary.lifetimePoints],
        ["Redeemed", summary.redeemed], ["Expired", summary.expired], ["Returned", summary.returned],
        ["Adjusted", summary.adjusted], ["Slab", summary.currentSlab], ["Next slab", summary.nextSlab || ""]]
        .map(([label, value, name]) => h("td", { "data-label": label, class: name }, value)))))));
}

function profile(customer) {
  return h("section", { class: "card profile", "aria-labelledby": "customer-name" },
    h("h1", { id: "customer-name" }, `${customer.firstname} ${customer.lastname}`.trim() || `Customer #${customer.userId}`),
    h("dl", { class: "facts" },
      [["User id", customer.userId], ["Mobile", customer.mobile], ["Email", customer.email], ["External id", customer.externalId],
        ["Card", customer.cardNumber], ["Slab", customer.currentSlab], ["Points", customer.loyaltyPoints],
        ["Lifetime purchases", customer.lifetimePurchases], ["Registered", time(customer.registeredOn)],
        ["Merged into", customer.mergedIntoUserId]]
        .filter(([, value]) => value !== null && value !== undefined && value !== "")
        .map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", { dataset: { fact: label } }, value)))),
    summaryTable(customer));
}

let shownCustomer = null; // { userId, tabsSlot }: a change of tab keeps the profile on screen

async function customerScreen(userId, tabId, subId) {
  const lookup = { type: "USER_ID", value: userId };
  if (shownCustomer && shownCustomer.userId === userId && main.contains(shownCustomer.tabsSlot)) {
    showTabs(userId, lookup, shownCustomer.tabsSlot, tabId, subId);
    return;
  }
  const header = h("div", { class: "profile-slot" }, h("section", { class: "card profile skeleton-card", "aria-busy": "true" }));
  const actions = h("div", { class: "actions-slot" });
  const tabsSlot = h("div", { class: "tabs-slot" });
  show(h("p", {}, h("a", { href: "#/", class: "back" }, "← Search")), header, actions, tabsSlot);
  shownCustomer = null;

  async function refreshProfile() {
    const result = (await graphql("Customer", { customer: lookup })).customer;
    if (result.code) {
      replace(header, h("p", { class: "card field-error", role: "alert" }, result.message));
      return null;
    }
    replace(header, profile(result));
    return result;
  }

  const customer = await refreshProfile();
  if (!customer) return;
  replace(actions, actionPanel(lookup, customer, refreshProfile));
  shownCustomer = { userId, tabsSlot };
  showTabs(userId, lookup, tabsSlot, tabId, subId);
}

function showTabs(userId, lookup, tabsSlot, tabId, subId) {
  const focused = document.activeElement && document.activeElement.getAttribute("role") === "tab"
    ? document.activeElement.closest(".tabs").classList.contains("sub") ? "sub" : "main" : null;
  shownLists.forEach((list) => list.disconnect());
  shownLists = [];
  const tabs = customerTabs(lookup);
  const tab = tabs.find((candidate) => candidate.id === tabId) || tabs[0];
  const panel = h("div", { role: "tabpanel", class: "tab-panel", "aria-labelledby": `tab-main-${tab.id}` });
  replace(tabsSlot, tabBar("Customer details", tabs, tab.id, (id) => { location.hash = `#/customer/${userId}/${id}`; }, "main"), panel);
  if (tab.ledger) {
    replace(panel, ledgerView(lookup));
  } else {
    const sub = tab.sub.find((candidate) => candidate.id === subId) || tab.sub[0];
    const list = listView({ ...sub, variables: (after) => sub.variables(lookup, after) });
    replace(panel,
      tab.sub.length > 1 ? tabBar(tab.label, tab.sub, sub.id, (id) => { location.hash = `#/customer/${userId}/${tab.id}/${id}`; }, "sub") : null,
      h("h2", { class: "list-title" }, sub.label),
      keep(list));
  }
  // Keyboard users stay on the tab they chose (the bar was drawn anew).
  if (focused) tabsSlot.querySelector(`.tabs.${focused} [aria-selected="true"]`)?.focus();
}

// --- Ledger ---------------------------------------------------------------------------------

const LEDGER_COLUMNS = [
  { label: "At", value: (row) => time(row.createdAt) },
  { label: "Event", value: (row) => row.eventType },
  { label: "Type", value: (row) => row.entryType },
  { label: "Program", value: (row) => row.programCode },
  { label: "Category", value: (row) => row.pointsCategory },
  { label: "Points", value: (row) => row.points, numeric: true },
  { label: "Balance after", value: (row) => row.balanceAfter, numeric: true },
  { label: "Source", value: (row) => row.eventSource },
  { label: "Store", value: (row) => row.storeCode },
  { label: "Till", value: (row) => row.tillCode },
  { label: "Bill", value: (row) => row.transactionNumber },
];
const LEDGER_PAGE_SIZE = 10;

function ledgerView(lookup) {
  const entryType = select("entryType", [["", "Credits and debits"], ["CREDIT", "Credits"], ["DEBIT", "Debits"]], "");
  const program = select("programCode", [["", "All programs"], ...organization.programs.map((item) => [item.code, item.name])], "");
  const category = select("pointsCategory", [["", "All categories"], ["REGULAR", "Regular"], ["PROMISED", "Promised"],
    ["TRIGGER_BASED", "Trigger based"]], "");
  const from = h("input", { type: "date", name: "startDate" });
  const to = h("input", { type: "date", name: "endDate" });
  const balance = h("output", { class: "closing-balance", "aria-live": "polite" }, "…");
  const form = h("form", { class: "filters" },
    field("Type", entryType, "filter.entryType"), field("Program", program, "filter.programCodes"),
    field("Category", category, "filter.pointsCategories"),
    field(`From (${timeZone()})`, from, "filter.startDate"), field("To (inclusive)", to, "filter.endDate"), formError());

  function filter() {
    const chosen = {};
    if (entryType.value) chosen.entryType = entryType.value;
    if (program.value) chosen.programCodes = [program.value];
    if (category.value) chosen.pointsCategories = [category.value];
    if (from.value) chosen.startDate = startOfDay(from.value);
    if (to.value) {
      const next = new Date(`${to.value}T00:00:00Z`);
      next.setUTCDate(next.getUTCDate() + 1);
      chosen.endDate = startOfDay(next.toISOString().slice(0, 10));
    }
    return chosen;
  }

  function downloadParameters() {
    const chosen = filter();
    const parameters = [["customer", lookup.value]];
    for (const [name, value] of Object.entries(chosen)) {
      for (const item of Array.isArray(value) ? value : [value]) parameters.push([name, item]);
    }
    return parameters;
  }

  async function refreshBalance() {
    balance.textContent = "…";
    clearErrors(form);
    try {
      const result = (await graphql("LedgerClosingBalance", { customer: lookup, filter: filter() })).ledgerClosingBalance;
      if (result.code) showError(form, result);
      else balance.textContent = result.balance;
    } catch (error) {
      showError(form, { message: error.message });
    }
  }

  const list = listView({
    id: "ledger",
    document: "LedgerEntries",
    variables: (after) => ({ customer: lookup, filter: filter(), first: LEDGER_PAGE_SIZE, after }),
    result: (data) => data.ledgerEntries,
    rows: (page) => page.entries,
    pageInfo: (page) => page.pageInfo,
    columns: LEDGER_COLUMNS,
    download: { list: "ledger-entries", parameters: downloadParameters },
    empty: "No entry in this view (without dates: the last 7 days).",
  });
  form.addEventListener("change", () => {
    refreshBalance();
    list.reload();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  refreshBalance();
  return h("div", { class: "ledger" },
    h("h2", { class: "list-title" }, "Ledger entries"),
    form,
    h("p", { class: "balance-line" }, "Closing balance of this view: ", balance),
    keep(list));
}

// --- Actions --------------------------------------------------------------------------------

function actionForm(title, className, controls, submit) {
  const button = h("button", { type: "submit" }, title);
  const outcome = h("p", { class: "outcome", role: "status" });
  const form = h("form", { class: `action ${className}`, novalidate: true }, controls, formError(), button, outcome);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    outcome.textContent = "";
    button.disabled = true;
    try {
      await submit(form, outcome);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showError(form, { message: error.message });
    } finally {
      button.disabled = false;
    }
  });
  return h("details", { class: `card action-box ${className}-box` }, h("summary", {}, title), form);
}

// Asks before the change, showing what the balance will be; resolves true to go ahead.
function confirmDialog(lines) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, "Confirm the adjustment"),
      lines.map((line) => h("p", {}, line)),
      h("div", { class: "buttons" },
        h("button", { type: "button", class: "cancel", onclick: () => dialog.close("cancel") }, "Cancel"),
        h("button", { type: "button", class: "confirm-button", onclick: () => dialog.close("confirm") }, "Confirm")));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

function actionPanel(lookup, customer, refreshProfile) {
  const programs = organization.programs.map((program) => [program.code, program.name]);
  const defaultProgram = (organization.programs.find((program) => program.isDefault) || organization.programs[0]).code;
  let summaries = customer.pointsSummaries;

  // Adjust points: reason required, confirmed with the balance after.
  const program = select("programCode", programs, defaultProgram);
  const type = select("type", [["CREDIT", "Credit"], ["DEBIT", "Debit"]], "CREDIT");
  const points = h("input", { name: "points", inputmode: "decimal", autocomplete: "off" });
  const reason = select("reason", [["", "Choose a reason"], ["GOODWILL", "Goodwill"], ["MISSED_PURCHASE", "Missed purchase"],
    ["SERVICE_RECOVERY", "Service recovery"], ["ERROR_CORRECTION", "Error correction"], ["FRAUD", "Fraud"], ["OTHER", "Other"]], "");
  const note = h("textarea", { name: "note", rows: "2" });
  let adjustmentKey = null;
  const adjust = actionForm("Adjust points", "adjust", [
    field("Program", program, "input.programCode"), field("Credit or debit", type, "input.type"),
    field("Points", points, "input.points"), field("Reason", reason, "input.reason"), field("Note", note, "input.note"),
  ], async (form, outcome) => {
    if (!reason.value) {
      showError(form, { field: "input.reason", message: "Choose a reason." });
      return;
    }
    const text = points.value.trim();
    const summary = summaries.find((item) => item.programCode === program.value);
    if (isDecimal(text) && summary) {
      const after = addDecimals(summary.loyaltyPoints, type.value === "DEBIT" ? negate(text) : text);
      const verb = type.value === "DEBIT" ? "Debit" : "Credit";
      const go = await confirmDialog([`${verb} ${text} points in ${program.value} (${reason.value}).`,
        `Balance now: ${summary.loyaltyPoints}. Balance after: ${after}.`]);
      if (!go) return;
    }
    adjustmentKey = adjustmentKey || idempotencyKey(); // the same key on a retry: one adjustment
    const result = (await graphql("AdjustPoints", { input: {
      customer: lookup, programCode: program.value, type: type.value, points: text, reason: reason.value,
      note: note.value, idempotencyKey: adjustmentKey,
    } })).adjustPoints;
    if (result.code) {
      if (result.code === "IDEMPOTENCY_KEY_REUSED") adjustmentKey = null;
      showError(form, result);
      return;
    }
    adjustmentKey = null;
    outcome.textContent = `Adjusted: ${result.adjustment.type} ${result.adjustment.points} in ${result.adjustment.programCode}. Balance after: ${result.balanceAfter}.`;
    form.reset();
    const refreshed = await refreshProfile();
    if (refreshed) summaries = refreshed.pointsSummaries;
  });

  // Change an identifier: add, remove, or both to replace.
  const identifierType = select("identifierType", [["MOBILE", "Mobile"], ["EMAIL", "Email"], ["EXTERNAL_ID", "External id"],
    ["CARD_NUMBER", "Card number"]], "MOBILE");
  const remove = h("input", { name: "remove", autocomplete: "off" });
  const add = h("input", { name: "add", autocomplete: "off" });
  const source = select("source", ["INSTORE", "WECHAT", "MARTJACK", "WEB_ENGAGE", "ECOMMERCE", "JD", "TAOBAO", "TMALL",
    "FACEBOOK", "WEBSITE", "OTHERS"].map((value) => [value, value]), "INSTORE");
  const account = h("input", { name: "account", autocomplete: "off" });
  const merge = h("input", { type: "checkbox", name: "merge" });
  let changeKey = null;
  const change = actionForm("Change identifier", "change-identifier", [
    field("Identifier", identifierType, "input.type"), field("Remove", remove, "input.remove"), field("Add", add, "input.add"),
    field("Source", source, "input.source"), field("Account", account, "input.account"),
    field("Merge the customer who holds it", merge, "input.merge"),
  ], async (form, outcome) => {
    changeKey = changeKey || idempotencyKey();
    const result = (await graphql("ChangeIdentifier", { input: {
      customer: lookup, type: identifierType.value, add: add.value.trim() || null, remove: remove.value.trim() || null,
      source: source.value, account: account.value.trim() || null, merge: merge.checked, idempotencyKey: changeKey,
    } })).changeIdentifier;
    if (result.code) {
      if (result.code === "IDEMPOTENCY_KEY_REUSED") changeKey = null;
      showError(form, result);
      return;
    }
    changeKey = null;
    outcome.textContent = `Identifiers now: ${result.customer.identifiers.map((item) => `${item.type} ${item.value}`).join(", ")}.`;
    form.reset();
    await refreshProfile();
  });

  // Link a promo code for the next or every checkout.
  const code = h("input", { name: "code", autocomplete: "off" });
  const mode = select("mode", [["NEXT_CHECKOUT", "Next checkout"], ["EVERY_CHECKOUT", "Every checkout"]], "NEXT_CHECKOUT");
  const link = actionForm("Link promo code", "link-code", [
    field("Promo code", code, "input.code"), field("Mode", mode, "input.mode"),
  ], async (form, outcome) => {
    const result = (await graphql("LinkPromoCode", { input: { customer: lookup, code: code.value.trim(), mode: mode.value } })).linkPromoCode;
    if (result.code) {
      showError(form, result);
      return;
    }
    outcome.textContent = `Linked ${result.link.code} (${result.link.promotionName}) until ${time(result.link.validUntil)}.`;
    form.reset();
  });

  return h("section", { class: "actions", "aria-label": "Actions" }, adjust, change, link);
}

// --- Routing --------------------------------------------------------------------------------

async function route() {
  if (!signedIn()) {
    signInScreen();
    return;
  }
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === "customer" && parts[1]) await customerScreen(parts[1], parts[2], parts[3]);
    else searchScreen(new URLSearchParams(query));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut();
      signInScreen(error.message);
      return;
    }
    show(h("p", { class: "card field-error", role: "alert" }, error.message));
  }
}

window.addEventListener("hashchange", route);

async function boot() {
  await loadDocuments();
  if (signedIn()) {
    try {
      await start();
    } catch (error) {
      signOut();
      signInScreen(error.message);
      return;
    }
  }
  route();
}

boot();
