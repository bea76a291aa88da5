/* A small tus 1.0.0 client for /api/uploads/: create the upload, send the bytes from the server's offset, and
   after a dropped connection ask the server where it got to (HEAD) and go on from there by itself. */
"use strict";
(function (A) {
  const RETRY_DELAYS = [0, 500, 1000, 2000, 4000, 8000, 8000, 8000];

  const base64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function tusHeaders(extra) { return A.headers({ "Tus-Resumable": "1.0.0", ...extra }); }

  async function create(file) {
    const metadata = `filename ${base64(file.name)},filetype ${base64(file.type || "application/octet-stream")}`;
    const response = await A.send("/api/uploads/", { method: "POST",
      headers: { "Tus-Resumable": "1.0.0", "Upload-Length": String(file.size), "Upload-Metadata": metadata } });
    return response.headers.get("Location");
  }

  async function offsetOf(url) {
    const response = await A.send(url, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0" }, cache: "no-store" });
    return Number(response.headers.get("Upload-Offset"));
  }

  /* One PATCH of the rest of the file; XMLHttpRequest because fetch reports no upload progress. */
  function patch(url, file, offset, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("PATCH", url);
      const headers = tusHeaders({ "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" });
      for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
      request.upload.onprogress = (event) => onProgress(offset + event.loaded);
      request.onload = () => {
        if (request.status === 204) {
          resolve({ offset: Number(request.getResponseHeader("Upload-Offset")), fileId: request.getResponseHeader("Anclora-File-Id") });
        } else {
          let body = {};
          try { body = JSON.parse(request.responseText); } catch (ignored) { /* not JSON */ }
          reject(new A.ApiError(request.status, body));
        }
      };
      request.onerror = () => reject(new A.ApiError(0, {}));
      request.send(file.slice(offset));
    });
  }

  // (a refused scan ends the upload on the server: there is nothing left to resume)
  const retriable = (error) => error.code !== "scanner_unavailable" &&
    (error.status === 0 || error.status === 409 || error.status === 423 || error.status >= 500);

  /* Resolves with the id of the file the upload became. `events.progress(sentBytes)`, `events.retrying()`. */
  A.upload = async function (file, events) {
    const url = await create(file);
    let offset = 0, failures = 0;
    for (;;) {
      try {
        const sent = await patch(url, file, offset, events.progress);
        offset = sent.offset;
        failures = 0;
        if (offset >= file.size) return sent.fileId || (await A.call("GET", url)).file_id;
      } catch (error) {
        if (!retriable(error) || failures >= RETRY_DELAYS.length) throw error;
        events.retrying();
        await pause(RETRY_DELAYS[failures]);
        failures += 1;
        try { offset = await offsetOf(url); } catch (lost) { if (!retriable(lost)) throw lost; }
        if (offset >= file.size) return (await A.call("GET", url)).file_id;  // the last bytes did arrive
      }
    }
  };
})(window.Anclora = window.Anclora || {});
