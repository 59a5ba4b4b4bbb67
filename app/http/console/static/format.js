// Times in the organisation's time zone; decimals exactly as the API sends them.

let zone = "UTC";
let formatter = null;

export function setTimeZone(timeZone) {
  zone = timeZone;
  // sv-SE writes ISO-like 2026-11-25 13:00:00, as the downloads do.
  formatter = new Intl.DateTimeFormat("sv-SE", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
}

export function timeZone() {
  return zone;
}

export function time(value) {
  if (!value) return "";
  return formatter.format(new Date(value));
}

// The offset of the zone on a calendar day, as +05:30 (at noon, away from DST changes).
function offsetOn(day) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
    .formatToParts(new Date(`${day}T12:00:00Z`));
  const name = parts.find((part) => part.type === "timeZoneName").value; // GMT+05:30, or GMT
  return name === "GMT" ? "+00:00" : name.slice(3);
}

// The start of a calendar day (YYYY-MM-DD) in the organisation's zone, as an instant the API reads.
export function startOfDay(day) {
  return `${day}T00:00:00${offsetOn(day)}`;
}

// Decimal text to a scaled BigInt and back: points are added without ever becoming a float.
function scaled(text, places) {
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = (negative ? text.slice(1) : text).split(".");
  const digits = BigInt(whole + fraction.padEnd(places, "0"));
  return negative ? -digits : digits;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

export function isDecimal(text) {
  return DECIMAL.test(text);
}

// a + b for decimal texts (both checked with isDecimal), exact.
export function addDecimals(a, b) {
  const places = Math.max((a.split(".")[1] || "").length, (b.split(".")[1] || "").length);
  const sum = scaled(a, places) + scaled(b, places);
  const negative = sum < 0n;
  let digits = (negative ? -sum : sum).toString().padStart(places + 1, "0");
  if (places > 0) {
    digits = `${digits.slice(0, -places)}.${digits.slice(-places)}`.replace(/\.?0+$/, "");
  }
  return (negative ? "-" : "") + digits;
}

export function negate(text) {
  return text.startsWith("-") ? text.slice(1) : `-${text}`;
}
