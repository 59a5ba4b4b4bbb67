// Seed 004's tabs of a customer: each sub-tab one keyset-paged list of the API, and the
// download of the same list.

import { graphql, idempotencyKey } from "./api.js";
import { h } from "./dom.js";
import { time } from "./format.js";

const PAGE_SIZE = 10;

const column = (label, value, numeric = false) => ({ label, value, numeric });
const at = (label, key) => column(label, (row) => time(row[key]));

// A list of the customer: its document takes `customer`, `first` and `after`.
function customerList(id, label, document, options) {
  return {
    id,
    label,
    document,
    variables: (customer, after) => ({ customer, first: PAGE_SIZE, after, ...(options.variables || {}) }),
    result: (data) => data[options.field],
    rows: options.rows,
    pageInfo: "pageInfo" in options ? options.pageInfo : (result) => result.pageInfo,
    columns: options.columns,
    download: options.download,
    empty: options.empty,
  };
}

// A list read through `customer { ... }`, whose union is the customer's.
function nestedList(id, label, document, options) {
  return customerList(id, label, document, { field: "customer", ...options });
}

function lines(transaction) {
  if (!transaction.lineItems.length) return "";
  return h("details", {},
    h("summary", {}, `${transaction.lineItems.length} line${transaction.lineItems.length === 1 ? "" : "s"}`),
    h("ul", { class: "lines" }, transaction.lineItems.map((item) => h("li", {},
      `${item.serial}. ${item.itemCode}${item.description ? ` (${item.description})` : ""}: ${item.qty} × ${item.rate} = ${item.amount}`,
      item.returnedQty !== "0" ? `, returned ${item.returnedQty}` : ""))));
}

function resendButton(customer) {
  return (coupon) => {
    if (coupon.status !== "ACTIVE") return "";
    const outcome = h("span", { class: "outcome", role: "status" });
    let key = null;
    const button = h("button", {
      type: "button",
      class: "resend",
      onclick: async () => {
        key = key || idempotencyKey(); // a retry after a failure sends the same key
        button.disabled = true;
        try {
          const result = (await graphql("ResendCoupon", { input: { customer, code: coupon.code, idempotencyKey: key } })).resendCoupon;
          outcome.textContent = result.code ? result.message : `Resent ${time(result.requestedAt)}`;
          if (!result.code) key = null;
        } catch (error) {
          outcome.textContent = error.message;
        } finally {
          button.disabled = false;
        }
      },
    }, "Resend");
    return h("span", {}, button, " ", outcome);
  };
}

const CHANNELS = [["all", "All", null], ["sms", "SMS", "SMS"], ["email", "Email", "EMAIL"], ["wechat", "WeChat", "WECHAT"],
  ["webengage", "WebEngage", "WEBENGAGE"], ["surveys", "Surveys", "SURVEY"]];

// The tabs, each with its sub-tabs; `customer` is the lookup of the customer shown.
export function customerTabs(customer) {
  const byUserId = () => [["customer", customer.value]];
  const download = (list, extra = []) => ({ list, parameters: () => [...byUserId(), ...extra] });
  return [
    {
      id: "points", label: "Points", sub: [
        customerList("redemptions", "Redemptions", "PointsRedemptions", {
          field: "pointsRedemptions", rows: (page) => page.nodes,
          columns: [at("Redeemed at", "redeemedAt"), column("Points redeemed", (row) => row.points, true),
            column("Points reversed", (row) => row.pointsReversed, true), column("Status", (row) => row.status),
            column("Programs", (row) => row.programs.map((share) => `${share.programCode} ${share.points}`).join(", ")),
            column("Bill", (row) => row.transactionNumber), column("Store", (row) => row.storeCode),
            column("Balance after", (row) => row.balanceAfter, true)],
          download: download("points-redemptions"),
        }),
        nestedList("expiry", "Expiry schedule", "ExpirySchedule", {
          variables: { first: 100 }, rows: (result) => result.expirySchedule, pageInfo: null,
          columns: [column("Expires on", (row) => row.expiresOn), column("Program", (row) => row.programCode),
            column("Points", (row) => row.points, true)],
          download: download("expiry-schedule"), empty: "No points are due to expire.",
        }),
        nestedList("expired", "Expired points", "ExpiredPoints", {
          rows: (result) => result.expiredPoints.nodes, pageInfo: (result) => result.expiredPoints.pageInfo,
          columns: [at("Expired at", "expiredAt"), column("Program", (row) => row.programCode),
            column("Category", (row) => row.pointsCategory), column("Points", (row) => row.points, true)],
          download: download("expired-points"),
        }),
        customerList("slabs", "Slab history", "TierHistory", {
          field: "customerTierHistory", rows: (page) => page.records,
          columns: [at("Changed at", "createdAt"), column("Program", (row) => row.programCode),
            column("Change", (row) => row.kind), column("Cause", (row) => row.cause),
            column("From", (row) => row.fromTier.name), column("To", (row) => row.toTier.name),
            at("Tier expires", "tierExpiresAt")],
          download: download("customer-tier-history"),
        }),
        customerList("promotions", "Promotions", "PromotionHistory", {
          field: "customerPromotionHistory", rows: (page) => page.records,
          columns: [at("Awarded at", "awardedAt"), column("Promotion", (row) => row.promotion.name),
            column("Program", (row) => row.programCode), column("Points", (row) => row.points, true),
            column("Store", (row) => row.storeCode)],
          download: download("customer-promotion-history"),
        }),
        customerList("tracker", "Loyalty tracker", "TrackerHistory", {
          field: "customerTrackerHistory", rows: (page) => page.records,
          columns: [at("At", "createdAt"), column("Tracker", (row) => row.trackerName), column("Bill", (row) => row.billNumber),
            column("Item", (row) => row.itemCode), column("Value", (row) => row.value, true),
            column("Points", (row) => row.points, true)],
          download: download("tracker-history"),
        }),
        customerList("transfers", "Transfers", "PointsTransfers", {
          field: "customerPointsTransfers", rows: (page) => page.records,
          columns: [at("At", "createdAt"), column("Type", (row) => row.transferType), column("Transfer id", (row) => row.transferId),
            column("From", (row) => row.fromUserId), column("To", (row) => row.toUserId),
            column("Program", (row) => row.programName), column("Currency", (row) => row.alternateCurrency || "points"),
            column("Amount", (row) => row.points, true)],
          download: download("points-transfers"),
        }),
      ],
    },
    { id: "ledger", label: "Ledger", ledger: true },
    {
      id: "transactions", label: "Transactions", sub: [
        ["all", "Transactions", null],
        ["returns", "Returns", ["RETURN", "NOT_INTERESTED_RETURN", "MIXED"]],
      ].map(([id, label, types]) => nestedList(id, label, "Transactions", {
        variables: { types }, rows: (result) => result.transactions.nodes, pageInfo: (result) => result.transactions.pageInfo,
        columns: [at("Billed at", "billingTime"), column("Bill", (row) => row.number), column("Type", (row) => row.type),
          column("Store", (row) => row.storeCode), column("Amount", (row) => row.amount, true),
          column("Points", (row) => row.pointsEarned, true), column("Returned", (row) => row.returnedAmount, true),
          column("Lines", lines)],
        download: download("transactions", (types || []).map((type) => ["types", type])),
      })),
    },
    {
      id: "coupons", label: "Coupons", sub: [
        customerList("issued", "Issued coupons", "CustomerCoupons", {
          field: "customerCoupons", rows: (page) => page.coupons,
          columns: [column("Code", (row) => row.code), column("Promotion", (row) => row.promotion.name),
            column("Status", (row) => row.status), at("Valid from", "validFrom"), at("Valid until", "validUntil"),
            column("Redemptions", (row) => String(row.redemptionsCount), true), column("Resend", resendButton(customer))],
          download: download("customer-coupons"),
        }),
        customerList("redeemed", "Redemptions", "CouponRedemptions", {
          field: "customerCouponRedemptions", rows: (page) => page.redemptions,
          columns: [at("Redeemed at", "redeemedAt"), column("Code", (row) => row.code), column("Promotion", (row) => row.promotion.name),
            column("Bill", (row) => row.transactionNumber), column("Discount", (row) => row.discount, true),
            column("Reversed", (row) => (row.reversed ? `yes (${row.reversalTransactionNumber || ""})` : "no"))],
          download: download("customer-coupon-redemptions"),
        }),
        customerList("linked", "Linked codes", "LinkedPromoCodes", {
          // One list, not paged: its document declares no first/after (GraphQL ignores undeclared variables).
          field: "linkedPromoCodes", rows: (result) => result.links, pageInfo: null,
          columns: [column("Code", (row) => row.code), column("Promotion", (row) => row.promotionName), column("Mode", (row) => row.mode),
            at("Linked at", "linkedAt"), at("Valid until", "validUntil"), at("Used at", "usedAt")],
          empty: "No code is linked.",
        }),
      ],
    },
    {
      id: "interactions", label: "Interactions", sub: CHANNELS.map(([id, label, channel]) => customerList(id, label, "Interactions", {
        field: "customerInteractions", variables: { channel }, rows: (page) => page.interactions,
        columns: [at("Sent at", "sentAt"), column("Channel", (row) => row.channel), column("Status", (row) => row.status),
          at("Status at", "statusAt"), column("Subject", (row) => row.subject || row.bodyPreview), column("Account", (row) => row.account)],
        download: download("customer-interactions", channel ? [["channel", channel]] : []),
      })),
    },
    {
      id: "events", label: "Behavioural events", sub: [customerList("events", "Behavioural events", "BehaviouralEvents", {
        field: "customerBehaviouralEvents", rows: (page) => page.events,
        columns: [column("Date", (row) => row.date), at("At", "occurredAt"), column("Event", (row) => row.eventName),
          column("Tracking id", (row) => row.trackingId), column("Source", (row) => row.source),
          column("Account id", (row) => row.accountId), column("Till", (row) => row.tillCode)],
        download: download("customer-behavioural-events"),
      })],
    },
    {
      id: "leads", label: "Leads", sub: [customerList("leads", "Leads", "Leads", {
        field: "customerLeads", rows: (page) => page.leads,
        columns: [column("Lead id", (row) => row.id), column("Type", (row) => row.leadType), column("For", (row) => row.leadFor),
          column("Status", (row) => row.status), column("Sub-status", (row) => row.subStatus), column("Owner", (row) => row.ownerUserId),
          at("Created", "createdAt"), at("Updated", "updatedAt"), at("Last follow-up", "lastFollowUpAt"),
          at("Next follow-up", "nextFollowUpAt"),
          column("Extended fields", (row) => row.extendedFields.map((pair) => `${pair.name}: ${pair.value}`).join("; "))],
        download: download("customer-leads"),
      })],
    },
    {
      id: "segments", label: "Segments", sub: [
        customerList("current", "Segments now", "CustomerSegments", {
          field: "customerSegments", rows: (page) => page.memberships,
          columns: [column("Code", (row) => row.segment.code), column("Segment", (row) => row.segment.name), at("Added at", "addedAt")],
        }),
        customerList("history", "Segment history", "SegmentHistory", {
          field: "customerSegmentHistory", rows: (page) => page.changes,
          columns: [at("Changed at", "changedAt"), column("Segment", (row) => row.segment.name), column("Action", (row) => row.action),
            column("Source", (row) => row.source)],
          download: download("customer-segment-history"),
        }),
      ],
    },
    {
      id: "identifiers", label: "Identifier history", sub: [customerList("identifiers", "Change identifier history", "IdentifierHistory", {
        field: "identifierHistory", rows: (page) => page.records,
        columns: [at("At", "createdAt"), column("Source", (row) => row.source), column("Account", (row) => row.account),
          column("Identifier type", (row) => row.identifierType), column("Identifier value", (row) => row.identifierValue),
          column("Action", (row) => row.action), column("Other customer", (row) => row.otherUserId)],
        download: download("identifier-history"),
      })],
    },
  ];
}
