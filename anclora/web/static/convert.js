/* The conversion cards: one per dropped file, from upload to download. What each file can become comes from
   /api/formats; the options form is made from the chosen conversion's JSON Schema. */
"use strict";
(function (A) {
  const el = (...args) => A.el(...args);
  const ALIASES = { jpg: "jpeg", jpe: "jpeg", tif: "tiff", yml: "yaml", htm: "html", markdown: "md" };
  const PREVIEWS = new Set(["png", "jpeg", "gif", "webp", "bmp", "avif", "pdf"]);
  const FINAL = new Set(["succeeded", "failed", "canceled"]);
  let formats = null, counter = 0;

  A.formats = async function () {
    formats = formats || A.call("GET", "/api/formats").then((answer) => answer.conversions);
    return formats;
  };

  function guessFormat(name) {
    const ext = name.includes(".") ? name.split(".").pop().toLowerCase() : "";
    return ALIASES[ext] || ext;
  }

  function costText(cost) {
    if (!cost) return A.t("convert.free");
    return cost === 1 ? A.t("convert.cost1") : A.t("convert.cost", { n: cost });
  }

  /* <option>s grouped by family in <optgroup>s, only those matching `query`. */
  function fillTargets(select, conversions, query) {
    const kept = select.value;
    const families = new Map();
    for (const conversion of conversions) {
      const text = `${conversion.to} ${conversion.family || ""}`;
      if (query && !text.toLowerCase().includes(query.toLowerCase())) continue;
      const family = conversion.family || "other";
      if (!families.has(family)) families.set(family, []);
      families.get(family).push(conversion);
    }
    select.replaceChildren(...[...families].map(([family, members]) => el("optgroup", { label: A.t(`family.${family}`) },
      members.map((c) => el("option", { value: c.to }, `${c.to.toUpperCase()} — ${costText(c.cost)}`)))));
    if ([...select.options].some((option) => option.value === kept)) select.value = kept;
  }

  function control(name, schema, id) {
    const label = schema.title || name;
    const description = schema.description ? el("span", { class: "hint" }, schema.description) : null;
    if (schema.type === "boolean") {
      return el("label", { class: "check" }, el("input", { type: "checkbox", name, id, checked: schema.default === true }), label, description);
    }
    let input;
    if (Array.isArray(schema.enum)) {
      input = el("select", { name, id }, el("option", { value: "" }, "—"), schema.enum.map((v) => el("option", { value: String(v) }, String(v))));
      if (schema.default !== undefined) input.value = String(schema.default);
    } else {
      const numeric = schema.type === "integer" || schema.type === "number";
      const kind = numeric ? "number" : name.endsWith("password") ? "password" : "text";
      input = el("input", { name, id, type: kind, min: schema.minimum, max: schema.maximum,
        step: schema.type === "integer" ? 1 : numeric ? "any" : undefined, placeholder: schema.default, maxlength: schema.maxLength });
    }
    return el("label", { for: id }, el("span", {}, label), input, description);
  }

  /* The options form for a conversion's schema (empty when it takes none). An object option with properties of its
     own (a watermark, a protection) is a fieldset of them, named `option.property`; a free-form object (metadata)
     and encoded content (a base64 image) are left to the API. */
  function optionsForm(schema, prefix) {
    const properties = (schema && schema.properties) || {};
    const controls = Object.entries(properties).map(([name, property]) => {
      if (property.type !== "object") return control(name, property, `${prefix}-${name}`);
      if (!property.properties) return null;
      return el("fieldset", { "data-testid": `options-${name}` }, el("legend", {}, property.title || name),
        Object.entries(property.properties).filter(([, sub]) => !sub.contentEncoding).map(([inner, sub]) =>
          control(`${name}.${inner}`, { title: inner, ...sub }, `${prefix}-${name}-${inner}`)));
    }).filter(Boolean);
    if (!controls.length) return null;
    return el("fieldset", { "data-testid": "options" }, el("legend", {}, A.t("convert.options")), controls);
  }

  function optionValues(fieldset, schema) {
    const values = {};
    if (!fieldset) return values;
    for (const input of fieldset.querySelectorAll("[name]")) {
      const [outer, inner] = input.name.split(".");
      const property = inner ? schema.properties[outer].properties[inner] : schema.properties[outer];
      const target = inner ? (values[outer] ||= {}) : values;
      const key = inner || outer;
      if (input.type === "checkbox") {
        if (input.checked !== (property.default === true)) target[key] = input.checked;
      } else if (input.value !== "") {
        const numeric = property.type === "integer" || property.type === "number" || typeof property.enum?.[0] === "number";
        target[key] = numeric ? Number(input.value) : input.value;
      }
    }
    return values;
  }

  A.showPacks = async function (container) {
    const { packs } = await A.call("GET", "/api/billing/packs");
    container.replaceChildren(...packs.map((pack) => el("button", { type: "button", class: "secondary", "data-testid": "pack",
      onclick: () => A.buy(pack.id) }, A.t("account.buy", { name: pack.name, price: A.price(pack) }))));
  };

  A.price = (pack) => new Intl.NumberFormat(A.lang, { style: "currency", currency: (pack.currency || "usd").toUpperCase() })
    .format((pack.amount_cents || 0) / 100);

  A.buy = async function (packId) {
    if (!A.auth.signedIn) { A.show("account"); return; }
    try {
      const { checkout_url: url } = await A.call("POST", "/api/billing/checkout", { pack: packId });
      window.location.assign(url);
    } catch (error) { A.notify(A.explain(error)); }
  };

  class FileCard {
    constructor(file) {
      this.file = file;
      this.format = guessFormat(file.name);
      this.id = `f${counter += 1}`;
      this.progress = el("progress", { max: 100, value: 0, "data-testid": "progress", "aria-label": file.name });
      this.status = el("p", { class: "status", role: "status", "data-testid": "status" });
      this.search = el("input", { type: "search", id: `${this.id}-search`, placeholder: A.t("convert.search") });
      this.select = el("select", { id: `${this.id}-to`, "data-testid": "target-format" });
      this.convert = el("button", { type: "button", "data-testid": "convert", disabled: true }, A.t("convert.go"));
      this.optionsSlot = el("div");
      this.result = el("div", { class: "result" });
      this.element = el("li", { class: "card" },
        el("div", { class: "file-head" }, el("span", {}, file.name), el("span", { class: "hint" }, A.bytes(file.size))),
        this.progress, this.status,
        el("div", { class: "row" },
          el("label", { for: this.search.id }, A.t("convert.search"), this.search),
          el("label", { for: this.select.id }, A.t("convert.to"), this.select), this.convert),
        this.optionsSlot, this.result);
      this.search.addEventListener("input", () => this.listTargets());
      this.select.addEventListener("change", () => this.showOptions());
      this.convert.addEventListener("click", () => this.start());
    }

    say(text, bad = false) { this.status.textContent = text; this.status.classList.toggle("bad", bad); }

    async listTargets() {
      this.conversions = (await A.formats()).filter((c) => c.from === this.format);
      fillTargets(this.select, this.conversions, this.search.value.trim());
      if (!this.conversions.length) this.say(A.t("convert.none"), true);
      this.showOptions();
    }

    chosen() { return (this.conversions || []).find((c) => c.to === this.select.value); }

    showOptions() {
      const conversion = this.chosen();
      this.form = conversion ? optionsForm(conversion.options, this.id) : null;
      this.optionsSlot.replaceChildren(...(this.form ? [this.form] : []));
      this.convert.disabled = !conversion || !this.fileId;
    }

    async begin() {
      await this.listTargets();
      try {
        this.fileId = await A.upload(this.file, {
          progress: (sent) => { this.progress.value = Math.floor(100 * sent / (this.file.size || 1)); this.say(A.t("state.uploading", { p: this.progress.value })); },
          retrying: () => this.say(A.t("state.retrying")),
        });
      } catch (error) { this.fail(error); return; }
      this.progress.value = 100;
      this.element.dataset.fileId = this.fileId;
      const stored = await A.call("GET", `/api/files/${this.fileId}`);
      if (stored.format && stored.format !== this.format) { this.format = stored.format; await this.listTargets(); }
      this.say(this.conversions.length ? A.t("state.uploaded") : A.t("convert.none"), !this.conversions.length);
      this.showOptions();
    }

    fail(error) {
      this.say(A.explain(error), true);
      if (error.code === "payment_required") {
        const packs = el("div", { class: "packs", "data-testid": "packs" });
        const topUp = error.details.checkout_url
          ? el("a", { href: error.details.checkout_url, "data-testid": "top-up" }, A.t("account.topUp")) : null;
        this.result.replaceChildren(packs, ...(topUp ? [topUp] : []));
        A.showPacks(packs).catch((failure) => this.say(A.explain(failure), true));
      }
    }

    async start() {
      const conversion = this.chosen();
      this.convert.disabled = true;
      this.result.replaceChildren();
      try {
        const started = await A.call("POST", "/api/conversions", { file_id: this.fileId, to: conversion.to,
          options: optionValues(this.form, conversion.options) });
        this.progress.value = 0;
        this.show(started);
        await A.follow(`/api/conversions/${started.id}/events`, (state) => this.show(state));
        const last = await A.call("GET", `/api/conversions/${started.id}`);
        this.show(last);
        if (last.status === "succeeded") await this.offer(last);
      } catch (error) { this.fail(error); }
      this.convert.disabled = false;
    }

    show(state) {
      this.progress.value = state.status === "succeeded" ? 100 : state.progress || 0;
      if (state.status === "queued") {
        const ahead = state.queue_position;  // 0: the next to start
        this.say(Number.isInteger(ahead) ? A.t("state.queuedAt", { n: ahead + 1 }) : A.t("state.queued"));
      } else if (state.status === "running") this.say(A.t("state.running", { p: state.progress || 0 }));
      else if (FINAL.has(state.status)) {
        this.say(A.t(`state.${state.status}`, { m: state.error ? A.explain({ ...state.error, details: {} }) : "" }), state.status === "failed");
      }
    }

    async offer(conversion) {
      const blob = await (await A.send(`/api/conversions/${conversion.id}/result`)).blob();
      const url = URL.createObjectURL(blob);
      const name = `${this.file.name.replace(/\.[^.]*$/, "")}.${conversion.to}`;
      const link = el("a", { href: url, download: name, "data-testid": "download", class: "download" }, `${A.t("convert.download")} ${name}`);
      const preview = !PREVIEWS.has(conversion.to) ? null : conversion.to === "pdf"
        ? el("iframe", { src: url, title: name, class: "preview", "data-testid": "preview" })
        : el("img", { src: url, alt: name, class: "preview", "data-testid": "preview" });
      this.result.replaceChildren(el("p", {}, link), ...(preview ? [preview] : []));
    }
  }

  A.addFiles = function (files) {
    const list = document.getElementById("files");
    for (const file of files) {
      const card = new FileCard(file);
      list.append(card.element);
      card.begin();
    }
  };
})(window.Anclora = window.Anclora || {});
