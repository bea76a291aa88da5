/* The history: the caller's conversions (this browser's session, or the account's) with each result's expiry;
   cancel one that is still running, delete a result. */
"use strict";
(function (A) {
  const el = (...args) => A.el(...args);

  async function act(work) {
    try { await work(); } catch (error) { A.notify(A.explain(error)); }
    await A.showHistory();
  }

  function row(conversion, files) {
    const source = files.get(conversion.file_id), result = files.get(conversion.result_file_id);
    const running = conversion.status === "queued" || conversion.status === "running";
    const actions = running
      ? el("button", { type: "button", class: "secondary", "data-testid": "cancel",
        onclick: () => act(() => A.call("DELETE", `/api/conversions/${conversion.id}`)) }, A.t("history.cancel"))
      : result ? el("button", { type: "button", class: "secondary", "data-testid": "delete",
        onclick: () => act(() => A.call("DELETE", `/api/files/${result.id}`)) }, A.t("history.delete")) : null;
    return el("tr", { "data-testid": "history-row" },
      el("td", {}, source ? source.filename : conversion.from), el("td", {}, conversion.to.toUpperCase()),
      el("td", {}, A.t(`state.${conversion.status}`, { p: conversion.progress, m: conversion.error?.message || "" })),
      el("td", {}, result ? A.date(result.expires_at) : "—"), el("td", {}, actions));
  }

  A.showHistory = async function () {
    try {
      const [{ conversions }, { files }] = await Promise.all([A.call("GET", "/api/conversions"), A.call("GET", "/api/files")]);
      const byId = new Map(files.map((file) => [file.id, file]));
      document.getElementById("history-rows").replaceChildren(...conversions.map((c) => row(c, byId)));
      document.getElementById("history-empty").hidden = conversions.length > 0;
    } catch (error) { A.notify(A.explain(error)); }
  };
})(window.Anclora = window.Anclora || {});
