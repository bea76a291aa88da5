/* The page's words in English and Spanish; the language comes from the browser and can be switched. */
"use strict";
(function (A) {
  const WORDS = {
    en: {
      skip: "Skip to content", nav: "Main", "nav.convert": "Convert", "nav.history": "History",
      "nav.account": "Account", language: "Language",
      "convert.title": "Convert files", "convert.drop": "Drop files here, or choose them",
      "convert.limit": "Up to {size} a file.", "convert.to": "Convert to", "convert.search": "Search formats",
      "convert.options": "Options", "convert.go": "Convert", "convert.none": "Nothing can be made from this file.",
      "convert.remove": "Remove", "convert.download": "Download", "convert.cost": "{n} credits", "convert.cost1": "1 credit", "convert.free": "free",
      "state.uploading": "Uploading… {p}%", "state.uploaded": "Uploaded. Pick a format and convert.",
      "state.retrying": "Connection lost; resuming…", "state.queued": "Waiting in the queue…",
      "state.queuedAt": "Waiting in the queue (position {n})…", "state.running": "Converting… {p}%",
      "state.succeeded": "Done.", "state.failed": "Failed: {m}", "state.canceled": "Canceled.",
      "family.document": "Documents", "family.spreadsheet": "Spreadsheets", "family.presentation": "Presentations",
      "family.image": "Images", "family.audio": "Audio", "family.video": "Video", "family.data": "Data",
      "family.archive": "Archives", "family.other": "Other",
      "history.title": "Your conversions", "history.hint": "Results are deleted when they expire.",
      "history.file": "File", "history.to": "To", "history.status": "Status", "history.expires": "Expires",
      "history.actions": "Actions", "history.empty": "No conversions yet.", "history.cancel": "Cancel",
      "history.delete": "Delete the result",
      "account.title": "Account", "account.signIn": "Sign in", "account.register": "Create an account",
      "account.email": "E-mail", "account.password": "Password", "account.forgot": "Forgot your password?",
      "account.reset": "Choose a new password", "account.newPassword": "New password", "account.save": "Save",
      "account.you": "You", "account.signOut": "Sign out", "account.credits": "Credits",
      "account.rewards": "Rewards", "account.keys": "API keys", "account.keyName": "Name",
      "account.createKey": "Create a key", "account.copy": "Copy", "account.revoke": "Revoke",
      "account.copyOnce": "Copy it now; it is shown only once:",
      "account.webhook": "Webhook secret", "account.webhookHint": "It signs the webhooks sent for your conversions (Anclora-Signature).",
      "account.showSecret": "Show", "account.rotateSecret": "Replace it",
      "account.rotated": "A new secret signs from now on; the old one also signs for 24 hours.", "account.plan": "Plan: {plan}",
      "account.balance": "{n} credits", "account.buy": "Buy {name} ({price})", "account.topUp": "Buy the missing credits",
      "account.level": "Level {level}, {points} points ({next} for the next level).",
      "account.resetSent": "If that address has an account, a link to choose a new password is on its way.",
      "account.resetDone": "Your password is changed. Sign in with it.", "account.verified": "Your e-mail address is confirmed.",
      "limit.max_upload_bytes": "Largest upload", "limit.conversions_per_day": "Conversions a day",
      "limit.free_conversions_per_day": "Free conversions a day", "limit.retention_seconds": "Results kept for",
      "limit.concurrent_jobs": "Conversions at once", "limit.conversions_today": "Conversions today",
      "error.payload_too_large": "This file is larger than your limit of {limit}. Sign in, or raise your plan, to send bigger files (the server's administrator sets the limits).",
      "error.payment_required": "This conversion costs more credits than you have. Buy a pack of credits to go on:",
      "error.unauthorized": "Please sign in again.", "error.forbidden": "You may not do this.",
      "error.not_found": "That is no longer here (it may have expired).",
      "error.unsupported_media_type": "This kind of file cannot be converted.",
      "error.unsupported_conversion": "This file cannot be converted to that format.",
      "error.conversion_failed": "The conversion failed: {m}", "error.quota_exceeded": "You have reached a limit of your plan: {m}",
      "error.rate_limited": "Too many requests; wait a moment and try again.",
      "error.service_unavailable": "The service is busy or down for a moment; try again shortly.",
      "error.conflict": "That cannot be done now: {m}", "error.network": "The server cannot be reached.",
      "error.other": "Something went wrong: {m}",
      "error.infected": "The virus scanner found {signature} in this file; it was not kept.",
      "error.too_large_to_scan": "This file is larger than the virus scanner takes; it was not kept.",
      "error.scanner_unavailable": "The virus scanner is not answering, so the file was not kept; try again shortly.",
    },
    es: {
      skip: "Saltar al contenido", nav: "Principal", "nav.convert": "Convertir", "nav.history": "Historial",
      "nav.account": "Cuenta", language: "Idioma",
      "convert.title": "Convertir archivos", "convert.drop": "Suelta aquí los archivos o elígelos",
      "convert.limit": "Hasta {size} por archivo.", "convert.to": "Convertir a", "convert.search": "Buscar formatos",
      "convert.options": "Opciones", "convert.go": "Convertir", "convert.none": "No se puede obtener nada de este archivo.",
      "convert.remove": "Quitar", "convert.download": "Descargar", "convert.cost": "{n} créditos", "convert.cost1": "1 crédito", "convert.free": "gratis",
      "state.uploading": "Subiendo… {p} %", "state.uploaded": "Subido. Elige un formato y convierte.",
      "state.retrying": "Conexión perdida; reanudando…", "state.queued": "En cola…",
      "state.queuedAt": "En cola (posición {n})…", "state.running": "Convirtiendo… {p} %",
      "state.succeeded": "Listo.", "state.failed": "Error: {m}", "state.canceled": "Cancelada.",
      "family.document": "Documentos", "family.spreadsheet": "Hojas de cálculo", "family.presentation": "Presentaciones",
      "family.image": "Imágenes", "family.audio": "Audio", "family.video": "Vídeo", "family.data": "Datos",
      "family.archive": "Archivos comprimidos", "family.other": "Otros",
      "history.title": "Tus conversiones", "history.hint": "Los resultados se borran cuando caducan.",
      "history.file": "Archivo", "history.to": "A", "history.status": "Estado", "history.expires": "Caduca",
      "history.actions": "Acciones", "history.empty": "Aún no hay conversiones.", "history.cancel": "Cancelar",
      "history.delete": "Borrar el resultado",
      "account.title": "Cuenta", "account.signIn": "Iniciar sesión", "account.register": "Crear una cuenta",
      "account.email": "Correo electrónico", "account.password": "Contraseña", "account.forgot": "¿Olvidaste la contraseña?",
      "account.reset": "Elige una contraseña nueva", "account.newPassword": "Contraseña nueva", "account.save": "Guardar",
      "account.you": "Tú", "account.signOut": "Cerrar sesión", "account.credits": "Créditos",
      "account.rewards": "Recompensas", "account.keys": "Claves de API", "account.keyName": "Nombre",
      "account.createKey": "Crear una clave", "account.copy": "Copiar", "account.revoke": "Revocar",
      "account.copyOnce": "Cópiala ahora; solo se muestra una vez:",
      "account.webhook": "Secreto de los webhooks", "account.webhookHint": "Firma los webhooks que se envían por tus conversiones (Anclora-Signature).",
      "account.showSecret": "Mostrar", "account.rotateSecret": "Sustituirlo",
      "account.rotated": "Desde ahora firma un secreto nuevo; el anterior también firma durante 24 horas.", "account.plan": "Plan: {plan}",
      "account.balance": "{n} créditos", "account.buy": "Comprar {name} ({price})", "account.topUp": "Comprar los créditos que faltan",
      "account.level": "Nivel {level}, {points} puntos ({next} para el siguiente nivel).",
      "account.resetSent": "Si esa dirección tiene cuenta, le llegará un enlace para elegir una contraseña nueva.",
      "account.resetDone": "Tu contraseña ha cambiado. Inicia sesión con ella.", "account.verified": "Tu dirección de correo está confirmada.",
      "limit.max_upload_bytes": "Subida máxima", "limit.conversions_per_day": "Conversiones al día",
      "limit.free_conversions_per_day": "Conversiones gratis al día", "limit.retention_seconds": "Resultados guardados durante",
      "limit.concurrent_jobs": "Conversiones a la vez", "limit.conversions_today": "Conversiones hoy",
      "error.payload_too_large": "Este archivo supera tu límite de {limit}. Inicia sesión o mejora tu plan para enviar archivos mayores (los límites los fija quien administra el servidor).",
      "error.payment_required": "Esta conversión cuesta más créditos de los que tienes. Compra un paquete de créditos para seguir:",
      "error.unauthorized": "Vuelve a iniciar sesión.", "error.forbidden": "No puedes hacer esto.",
      "error.not_found": "Ya no está aquí (puede que haya caducado).",
      "error.unsupported_media_type": "Este tipo de archivo no se puede convertir.",
      "error.unsupported_conversion": "Este archivo no se puede convertir a ese formato.",
      "error.conversion_failed": "La conversión ha fallado: {m}", "error.quota_exceeded": "Has llegado a un límite de tu plan: {m}",
      "error.rate_limited": "Demasiadas peticiones; espera un momento y vuelve a intentarlo.",
      "error.service_unavailable": "El servicio está ocupado o caído un momento; inténtalo en breve.",
      "error.conflict": "Ahora no se puede: {m}", "error.network": "No se puede contactar con el servidor.",
      "error.other": "Algo ha fallado: {m}",
      "error.infected": "El antivirus ha encontrado {signature} en este archivo; no se ha guardado.",
      "error.too_large_to_scan": "Este archivo supera lo que admite el antivirus; no se ha guardado.",
      "error.scanner_unavailable": "El antivirus no responde, así que el archivo no se ha guardado; inténtalo en breve.",
    },
  };
  const chosen = localStorage.getItem("anclora.lang");
  A.lang = chosen in WORDS ? chosen : ((navigator.language || "en").toLowerCase().startsWith("es") ? "es" : "en");

  A.t = function (key, params) {
    const text = WORDS[A.lang][key] ?? WORDS.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (params && params[name] !== undefined ? params[name] : ""));
  };

  A.translatePage = function () {
    document.documentElement.lang = A.lang;
    for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = A.t(element.dataset.i18n);
    for (const element of document.querySelectorAll("[data-i18n-aria]")) {
      element.setAttribute("aria-label", A.t(element.dataset.i18nAria));
    }
  };

  A.setLanguage = function (lang) {
    A.lang = lang in WORDS ? lang : "en";
    localStorage.setItem("anclora.lang", A.lang);
    A.translatePage();
    document.dispatchEvent(new Event("anclora:language"));
  };

  A.bytes = function (n) {
    const units = ["B", "KB", "MB", "GB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${n.toFixed(i ? 1 : 0).replace(/\.0$/, "")} ${units[i]}`;
  };

  A.date = (iso) => (iso ? new Date(iso).toLocaleString(A.lang) : "—");
})(window.Anclora = window.Anclora || {});
