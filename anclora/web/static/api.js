/* The page's API client: JSON calls with the caller's token (or the session cookie), errors in plain words,
   Server-Sent Events read over fetch (EventSource cannot send the Authorization header), and a DOM helper. */
"use strict";
(function (A) {
  const ACCESS = "anclora.access", REFRESH = "anclora.refresh";

  A.auth = {
    get signedIn() { return Boolean(localStorage.getItem(ACCESS)); },
    keep(answer) {
      localStorage.setItem(ACCESS, answer.access_token);
      localStorage.setItem(REFRESH, answer.refresh_token);
    },
    forget() { localStorage.removeItem(ACCESS); localStorage.removeItem(REFRESH); },
  };

  A.headers = function (extra) {
    const headers = { "X-Requested-With": "anclora-web", ...extra };
    const token = localStorage.getItem(ACCESS);
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  };

  class ApiError extends Error {
    constructor(status, body) {
      const error = (body && body.error) || {};
      super(error.message || `HTTP ${status}`);
      this.status = status;
      this.code = error.code || (status ? "other" : "network");
      this.details = error.details || {};
    }
  }
  A.ApiError = ApiError;

  async function refreshed() {
    const token = localStorage.getItem(REFRESH);
    if (!token) return false;
    const response = await fetch("/api/auth/refresh", { method: "POST", headers: A.headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ refresh_token: token }) });
    if (!response.ok) { A.auth.forget(); return false; }
    A.auth.keep(await response.json());
    return true;
  }

  /* fetch with the caller's credentials; a 401 with an expired access token is retried once after a refresh. */
  A.send = async function (path, init = {}, retried = false) {
    let response;
    try {
      response = await fetch(path, { ...init, headers: A.headers(init.headers) });
    } catch (failure) {
      throw new ApiError(0, { error: { code: "network", message: String(failure) } });
    }
    if (response.status === 401 && !retried && await refreshed()) return A.send(path, init, true);
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
    return response;
  };

  A.call = async function (method, path, body) {
    const init = { method };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers = { "Content-Type": "application/json" }; }
    const response = await A.send(path, init);
    return response.status === 204 ? null : response.json();
  };

  /* Calls `onData` with each event's JSON until the server ends the stream. */
  A.follow = async function (path, onData) {
    const response = await A.send(path, { headers: { Accept: "text/event-stream" } });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const data = buffer.slice(0, end).split("\n").filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trim()).join("\n");
        buffer = buffer.slice(end + 2);
        if (data) onData(JSON.parse(data));
      }
    }
  };

  A.explain = function (error) {
    const key = `error.${error.code}`;
    const limit = Number(error.details.limit) || A.me?.limits?.max_upload_bytes || 0;
    const words = A.t(key, { m: error.message, limit: A.bytes(limit), signature: error.details.signature });
    return words === key ? A.t("error.other", { m: error.message }) : words;
  };

  /* el("button", {class: "x", onclick: f}, "text", child) — text is always set as text, never as HTML. */
  A.el = function (tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else if (name === "dataset") Object.assign(element.dataset, value);
      else element.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) if (child !== null && child !== undefined) element.append(child);
    return element;
  };

  A.notify = function (text, ok = false, extra = null) {
    const notice = document.getElementById("notice");
    notice.replaceChildren(text, ...(extra ? [extra] : []));
    notice.classList.toggle("ok", ok);
    notice.hidden = !text;
  };
})(window.Anclora = window.Anclora || {});
