/* The page's start: language, views, and the drop zone. */
"use strict";
(function (A) {
  const VIEWS = ["convert", "history", "account"];

  A.show = function (view) {
    for (const name of VIEWS) {
      document.getElementById(`view-${name}`).hidden = name !== view;
      const tab = document.querySelector(`.tab[data-view="${name}"]`);
      if (name === view) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
    }
    if (view === "history") A.showHistory();
    if (view === "account") A.showAccount().catch((error) => A.notify(A.explain(error)));
  };

  function showLimit() {
    const limit = A.me?.limits?.max_upload_bytes;
    document.getElementById("limit-hint").textContent = limit ? A.t("convert.limit", { size: A.bytes(limit) }) : "";
  }

  function startDropZone() {
    const drop = document.getElementById("drop"), input = document.getElementById("file-input");
    input.addEventListener("change", () => { A.addFiles([...input.files]); input.value = ""; });
    drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      A.addFiles([...event.dataTransfer.files]);
    });
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const language = document.getElementById("language");
    language.value = A.lang;
    language.addEventListener("change", () => A.setLanguage(language.value));
    document.addEventListener("anclora:language", showLimit);
    document.addEventListener("anclora:me", showLimit);
    A.translatePage();
    for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => A.show(tab.dataset.view));
    startDropZone();
    A.show("convert");
    await A.startAccount();
    try { A.me = await A.call("GET", "/api/me"); showLimit(); } catch (error) { A.notify(A.explain(error)); }
  });
})(window.Anclora = window.Anclora || {});
