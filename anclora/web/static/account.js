/* Signing in and out, registering, resetting a password, and the account: plan, limits, usage, credits and
   packs, rewards, API keys. */
"use strict";
(function (A) {
  const el = (...args) => A.el(...args);
  const $ = (id) => document.getElementById(id);

  function limitText(name, value) {
    if (name.endsWith("_bytes")) return A.bytes(value);
    if (name.endsWith("_seconds")) return `${Math.round(value / 3600)} h`;
    return String(value);
  }

  async function showKeys() {
    const { api_keys: keys } = await A.call("GET", "/api/me/api-keys");
    $("keys").replaceChildren(...keys.map((key) => el("li", { "data-testid": "key-row" },
      el("span", {}, `${key.name || "—"} (${key.prefix}…)`),
      el("button", { type: "button", class: "secondary", "data-testid": "revoke",
        onclick: async () => { await A.call("DELETE", `/api/me/api-keys/${key.id}`); await showKeys(); } }, A.t("account.revoke")))));
  }

  async function showRewards() {
    try {
      const rewards = await A.call("GET", "/api/rewards");
      $("me-rewards").textContent = A.t("account.level", { level: rewards.level, points: rewards.points, next: rewards.next_level_points ?? "—" });
    } catch (error) { $("me-rewards").textContent = ""; }  // rewards plugin blocked
  }

  A.showAccount = async function () {
    $("signed-in").hidden = !A.auth.signedIn;
    $("signed-out").hidden = A.auth.signedIn;
    A.me = await A.call("GET", "/api/me");
    document.dispatchEvent(new Event("anclora:me"));
    if (!A.auth.signedIn) return;
    $("me-email").textContent = A.me.email;
    $("me-plan").textContent = A.t("account.plan", { plan: A.me.plan || "free" });
    const limits = Object.entries(A.me.limits || {}).filter(([name]) => A.t(`limit.${name}`) !== `limit.${name}`);
    $("me-limits").replaceChildren(...limits.flatMap(([name, value]) => [el("dt", {}, A.t(`limit.${name}`)), el("dd", {}, limitText(name, value))]),
      el("dt", {}, A.t("limit.conversions_today")), el("dd", {}, String(A.me.usage?.conversions_today ?? 0)));
    $("me-credits").textContent = A.t("account.balance", { n: A.me.credits ?? 0 });
    await Promise.all([A.showPacks(document.querySelector("#signed-in .packs")).catch(() => null), showRewards(), showKeys()]);
  };

  async function signIn(event) {
    event.preventDefault();
    const form = event.target, action = event.submitter?.dataset.action || "login";
    try {
      const answer = await A.call("POST", `/api/auth/${action}`, { email: form.email.value, password: form.password.value });
      A.auth.keep(answer);
      form.reset();
      A.notify("");
      await A.showAccount();
    } catch (error) { A.notify(A.explain(error)); }
  }

  async function signOut() {
    try { await A.call("POST", "/api/auth/logout", { refresh_token: localStorage.getItem("anclora.refresh") }); } catch (ignored) { /* signed out anyway */ }
    A.auth.forget();
    await A.showAccount();
  }

  async function forgot() {
    const email = $("sign-in").email.value;
    if (!email) { $("sign-in").email.focus(); return; }
    try { await A.call("POST", "/api/auth/password-reset", { email }); A.notify(A.t("account.resetSent"), true); } catch (error) { A.notify(A.explain(error)); }
  }

  async function newKey(event) {
    event.preventDefault();
    try {
      const key = await A.call("POST", "/api/me/api-keys", { name: event.target.name.value || "web" });
      $("new-key-value").hidden = false;
      $("new-key-value").querySelector("code").textContent = key.key;
      event.target.reset();
      await showKeys();
    } catch (error) { A.notify(A.explain(error)); }
  }

  /* The webhook secret: shown on request, or replaced (the API keeps the old one signing for a day). */
  async function webhookSecret(method) {
    try {
      const { webhook_secret: secret } = await A.call(method, "/api/me/webhook-secret");
      const shown = document.querySelector("#webhook-card .secret");
      shown.querySelector("code").textContent = secret;
      shown.hidden = false;
      if (method === "POST") A.notify(A.t("account.rotated"), true);
    } catch (error) { A.notify(A.explain(error)); }
  }

    /* Links from e-mails carry their token in the fragment (#token=...), which is never sent to a server. */
  async function followEmailLink() {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (!token) return;
    if (location.pathname === "/verify") {
      try { await A.call("POST", "/api/auth/verify", { token }); A.notify(A.t("account.verified"), true); } catch (error) { A.notify(A.explain(error)); }
    } else if (location.pathname === "/reset-password") {
      A.show("account");
      $("reset").hidden = false;
      $("reset").onsubmit = async (event) => {
        event.preventDefault();
        try {
          await A.call("POST", "/api/auth/password-reset/confirm", { token, password: event.target.password.value });
          $("reset").hidden = true;
          A.notify(A.t("account.resetDone"), true);
        } catch (error) { A.notify(A.explain(error)); }
      };
    }
    history.replaceState(null, "", "/");
  }

  A.startAccount = function () {
    $("sign-in").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("forgot").addEventListener("click", forgot);
    $("new-key").addEventListener("submit", newKey);
    $("show-secret").addEventListener("click", () => webhookSecret("GET"));
    $("rotate-secret").addEventListener("click", () => webhookSecret("POST"));
    $("copy-key").addEventListener("click", () => navigator.clipboard.writeText($("new-key-value").querySelector("code").textContent));
    return followEmailLink();
  };
})(window.Anclora = window.Anclora || {});
