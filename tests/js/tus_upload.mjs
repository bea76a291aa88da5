// Upload a file with tus-js-client, as a Node program without cookies would; print what the server named.
// Usage: node tus_upload.mjs ENDPOINT FILE CHUNK_SIZE [--stop-after BYTES] [--resume UPLOAD_URL]
// Prints one JSON line: {"url", "session", "fileId", "offset", "stopped"}.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import * as tus from "tus-js-client";

const [endpoint, path, chunkSize, ...rest] = process.argv.slice(2);
const option = (name) => { const at = rest.indexOf(name); return at >= 0 ? rest[at + 1] : undefined; };
const stopAfter = option("--stop-after") ? Number(option("--stop-after")) : undefined;
const named = { session: null, fileId: null, offset: null };
const data = readFileSync(path);

const upload = new tus.Upload(data, {
  endpoint,
  uploadUrl: option("--resume"),
  chunkSize: Number(chunkSize),
  retryDelays: null,
  metadata: { filename: basename(path), filetype: "text/plain" },
  onAfterResponse(request, response) {
    named.session = response.getHeader("X-Anclora-Session") || named.session;
    named.fileId = response.getHeader("Anclora-File-Id") || named.fileId;
    named.offset = response.getHeader("Upload-Offset") || named.offset;
  },
  onChunkComplete(chunk, sent) {
    if (stopAfter !== undefined && sent >= stopAfter) {
      upload.abort().then(() => finish(true));
    }
  },
  onError(error) { console.error(String(error)); process.exit(1); },
  onSuccess() { finish(false); },
});

function finish(stopped) {
  console.log(JSON.stringify({ url: upload.url, ...named, stopped }));
  process.exit(0);
}

upload.start();
