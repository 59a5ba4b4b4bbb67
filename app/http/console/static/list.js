// One keyset-paged list: a table that reserves its space while a page loads (skeleton rows),
// grows page by page as its end scrolls into view (or "Load more" is pressed), and offers the
// same list as CSV and Excel through /downloads.

import { download, graphql } from "./api.js";
import { h, replace } from "./dom.js";

const SKELETON_ROWS = 5;

// A table cell: text, or an element (a button, line items).
function cell(column, row) {
  const value = column.value(row);
  return h("td", { "data-label": column.label, class: column.numeric ? "number" : undefined }, value ?? "");
}

// `view`: { document, variables(after) -> variables, result(data) -> union, rows(result),
// pageInfo(result) (none for an unpaged list), columns: [{label, value, numeric}],
// download: {list, parameters() -> [[name, value]]}, empty: text }
export function listView(view) {
  const body = h("tbody");
  const status = h("p", { class: "list-status", role: "status" });
  const more = h("button", { type: "button", class: "load-more", hidden: true, onclick: () => load() }, "Load more");
  const end = h("div", { class: "list-end" }, more, status);
  const table = h(
    "table",
    { class: "list" },
    h("thead", {}, h("tr", {}, view.columns.map((column) => h("th", { scope: "col" }, column.label)))),
    body,
  );
  const downloads = view.download
    ? h("div", { class: "downloads" },
      ["csv", "xlsx"].map((format) => h("button", {
        type: "button",
        class: "download",
        dataset: { format },
        onclick: async (event) => {
          const button = event.currentTarget;
          button.disabled = true;
          try {
            await download(view.download.list, format, view.download.parameters());
            status.textContent = "";
          } catch (error) {
            status.textContent = error.message;
          } finally {
            button.disabled = false;
          }
        },
      }, format === "csv" ? "Download CSV" : "Download Excel")))
    : null;
  const element = h("section", { class: "list-view", dataset: { list: view.id } }, downloads, h("div", { class: "table-box" }, table), end);

  let after = null;
  let loading = false;
  let finished = false;
  let generation = 0; // a reload while a page is on its way drops that page

  function skeleton() {
    return Array.from({ length: SKELETON_ROWS }, () =>
      h("tr", { class: "skeleton", "aria-hidden": "true" }, view.columns.map(() => h("td", {}, h("span", { class: "bone" })))));
  }

  async function load() {
    if (loading || finished) return;
    loading = true;
    const mine = generation;
    more.hidden = true;
    status.textContent = "Loading…";
    element.setAttribute("aria-busy", "true");
    const placeholders = skeleton();
    body.append(...placeholders);
    try {
      const result = view.result(await graphql(view.document, view.variables(after)));
      if (mine !== generation) return;
      placeholders.forEach((row) => row.remove());
      if (result.code) {
        status.textContent = result.message;
        finished = true;
        return;
      }
      const rows = view.rows(result);
      body.append(...rows.map((row) => h("tr", {}, view.columns.map((column) => cell(column, row)))));
      const pageInfo = view.pageInfo ? view.pageInfo(result) : { hasNextPage: false, endCursor: null };
      after = pageInfo.endCursor;
      finished = !pageInfo.hasNextPage;
      more.hidden = finished;
      status.textContent = body.rows.length === 0 ? (view.empty || "Nothing yet.") : "";
    } catch (error) {
      if (mine !== generation) return;
      placeholders.forEach((row) => row.remove());
      status.textContent = error.message;
      more.hidden = false;
    } finally {
      if (mine === generation) {
        loading = false;
        element.removeAttribute("aria-busy");
      }
    }
  }

  // The next page loads when the end of the list comes near the viewport.
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting) && !finished && body.rows.length > 0) load();
  });
  observer.observe(end);

  function reload() {
    generation += 1;
    after = null;
    loading = false;
    finished = false;
    replace(body);
    load();
  }

  load();
  return { element, reload, disconnect: () => observer.disconnect() };
}
