// Files for the next message: picked with the attach button, dropped onto the conversation or
// pasted into the composer. Each one uploads at once (XMLHttpRequest, for its progress) and shows
// as a chip in the tray above the composer: its name, size, progress, and a button that cancels
// the upload or takes the file back out. A message goes out with the files that finished; while
// any is still uploading, Send waits (it is disabled, and the tray says why).

import { $, csrfToken, describeError, h, loginUrl } from "./common.js";
import { humanSize, isImage } from "./room-attachments.js";
import { canPost, chatId, input, room } from "./room-state.js";

const MAX_FILES = 10; // per message (the server's ATTACHMENTS_PER_MESSAGE_MAX)
// ATTACHMENT_MAX_BYTES, where the page says it: a larger file is refused here, not uploaded.
const MAX_BYTES = Number(room.dataset.attachmentMaxBytes) || 0;

const tray = $("#upload-tray");
const trayList = $("#upload-list");
const trayStatus = $("#upload-status");
const picker = $("#attach-input");
const attachButton = $("#attach-button");
const sendButton = $("#send-button");
const conversation = $(".conversation");

// Each: {file, node, parts, xhr, state: "uploading" | "done" | "failed", attachment}
let uploads = [];
let triedToSend = false; // Send was pressed while uploads ran: the tray says so more firmly

export const uploadsBusy = () => uploads.some((upload) => upload.state === "uploading");

// The files ready to go with the message: Attachment payloads, in the tray's order.
export const readyAttachments = () => uploads.filter((upload) => upload.state === "done").map((upload) => upload.attachment);

// --- Adding files --------------------------------------------------------------------------------

export function addFiles(files) {
  if (!canPost()) return;
  for (const file of files) {
    const upload = { file, node: null, parts: null, xhr: null, state: "uploading", attachment: null };
    upload.node = chipNode(upload);
    uploads.push(upload);
    trayList.append(upload.node);
    const taken = uploads.filter((other) => other.state !== "failed").length;
    if (taken > MAX_FILES) fail(upload, `At most ${MAX_FILES} files go with one message.`);
    else if (MAX_BYTES && file.size > MAX_BYTES) fail(upload, tooLarge(null));
    else start(upload);
  }
  refresh();
}

function chipNode(upload) {
  const { name, size } = upload.file;
  const parts = {
    thumb: h("span", { class: "upload-thumb", "aria-hidden": "true" }, badge(name)),
    state: h("span", { class: "upload-state" }),
    progress: h("progress", { class: "upload-progress", max: 100, value: 0, "aria-label": `Upload of ${name}` }),
    error: h("p", { class: "upload-error", role: "alert" }),
    actions: h("span", { class: "upload-actions" }),
    remove: h("button", { type: "button", class: "upload-remove", title: "Cancel the upload", "aria-label": `Cancel the upload of ${name}`, onclick: () => remove(upload) }, "✕"),
  };
  upload.parts = parts;
  parts.actions.append(parts.remove);
  return h(
    "li",
    { class: "upload" },
    parts.thumb,
    h(
      "div",
      { class: "upload-main" },
      h("span", { class: "upload-name", title: name }, name),
      h("span", { class: "upload-line" }, h("span", { class: "upload-size" }, humanSize(size)), parts.state),
      parts.progress,
      parts.error,
    ),
    parts.actions,
  );
}

function badge(name) {
  const match = /\.([a-z0-9]{1,4})$/i.exec(name);
  return match ? match[1].toUpperCase() : "FILE";
}

// --- Uploading -----------------------------------------------------------------------------------

function start(upload) {
  const xhr = new XMLHttpRequest();
  upload.xhr = xhr;
  setState(upload, "uploading");
  upload.parts.progress.value = 0;
  upload.parts.state.textContent = "Uploading…";
  xhr.open("POST", `/api/chats/${chatId}/attachments/`);
  xhr.setRequestHeader("Accept", "application/json");
  xhr.setRequestHeader("X-CSRFToken", csrfToken());
  xhr.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable || upload.xhr !== xhr) return;
    const percent = Math.min(100, Math.round((event.loaded / event.total) * 100));
    upload.parts.progress.value = percent;
    // All sent: the server checks the file (and makes an image's thumbnail) before it answers.
    upload.parts.state.textContent = percent < 100 ? `Uploading… ${percent}%` : "Processing…";
  });
  xhr.addEventListener("load", () => {
    if (upload.xhr === xhr) answered(upload, xhr);
  });
  xhr.addEventListener("error", () => {
    if (upload.xhr === xhr) fail(upload, "The upload failed. Check your connection.", true);
  });
  const body = new FormData();
  body.append("file", upload.file, upload.file.name || "file");
  xhr.send(body);
}

function answered(upload, xhr) {
  upload.xhr = null;
  let data = null;
  try {
    data = JSON.parse(xhr.responseText);
  } catch {
    data = null;
  }
  const status = xhr.status;
  if (status === 201 && data) {
    done(upload, data);
    return;
  }
  if (status === 401) {
    location.assign(loginUrl());
    return;
  }
  if (status === 413) fail(upload, tooLarge(data));
  else if (status === 400) fail(upload, data && data.file ? describeError(data.file) : describeError(data) || "This file cannot be sent.");
  else if (status === 429) {
    const wait = Number(xhr.getResponseHeader("Retry-After"));
    fail(upload, `Too many uploads just now. Try again${wait > 0 ? ` in ${wait} s` : " shortly"}.`, true);
  } else if (status >= 500) fail(upload, describeError(data) || "The server could not store the file. Try again.", true);
  else fail(upload, describeError(data) || `The server answered ${status}.`);
}

// A 413 says why: the file's limit, or my quota. The server's front door refuses a body over
// the limit plus the upload's framing before the app sees it, and says so in bytes of body: the
// file's own limit, where the page knows it, is what the person needs.
function tooLarge(data) {
  const detail = describeError(data);
  if (MAX_BYTES && (!detail || detail.startsWith("Request body"))) return `Too large. A file may have at most ${humanSize(MAX_BYTES)}.`;
  return `Too large. ${withSizes(detail) || "The file is over the limit."}`;
}

// "at most 26214400 bytes" -> "at most 25 MB".
function withSizes(text) {
  return text.replace(/(\d+) bytes/g, (_, bytes) => humanSize(Number(bytes)));
}

function done(upload, attachment) {
  upload.attachment = attachment;
  setState(upload, "done");
  const { parts } = upload;
  parts.progress.value = 100;
  parts.state.textContent = "Ready";
  parts.remove.title = "Remove";
  parts.remove.setAttribute("aria-label", `Remove ${upload.file.name}`);
  if (isImage(attachment) && attachment.thumbnail_url) {
    parts.thumb.replaceChildren(h("img", { src: attachment.thumbnail_url, alt: "", width: 36, height: 36 }));
    parts.thumb.classList.add("image");
  }
  refresh();
}

function fail(upload, text, retry = false) {
  upload.xhr = null;
  setState(upload, "failed");
  const { parts } = upload;
  parts.state.textContent = "Not uploaded";
  parts.error.textContent = text;
  parts.remove.title = "Remove";
  parts.remove.setAttribute("aria-label", `Remove ${upload.file.name}`);
  if (retry) {
    parts.actions.prepend(
      h("button", { type: "button", class: "link-button upload-retry", "aria-label": `Retry the upload of ${upload.file.name}`, onclick: () => again(upload) }, "Retry"),
    );
  }
  refresh();
}

function again(upload) {
  const retryButton = upload.parts.actions.querySelector(".upload-retry");
  if (retryButton) retryButton.remove();
  upload.parts.error.textContent = "";
  upload.parts.remove.title = "Cancel the upload";
  upload.parts.remove.setAttribute("aria-label", `Cancel the upload of ${upload.file.name}`);
  upload.parts.remove.focus();
  start(upload);
  refresh();
}

function setState(upload, state) {
  upload.state = state;
  upload.node.dataset.state = state;
}

// Cancel an upload in flight (the server keeps nothing of it), or take a file back out.
function remove(upload) {
  const at = uploads.indexOf(upload);
  if (at < 0) return;
  if (upload.xhr) {
    const xhr = upload.xhr;
    upload.xhr = null;
    xhr.abort();
  }
  uploads.splice(at, 1);
  upload.node.remove();
  // The focus goes to the chip that took its place, or the one before, or the composer.
  const next = uploads[at] || uploads[at - 1];
  if (next) next.parts.remove.focus();
  else input.focus();
  refresh();
}

// Empty the tray once its files went out with a message (those that failed go too: the tray
// said they would not be sent).
export function clearUploads() {
  for (const upload of uploads) if (upload.xhr) upload.xhr.abort();
  uploads = [];
  trayList.replaceChildren();
  refresh();
}

// The tray, the Send button and the line that says what waits for what.
function refresh() {
  tray.hidden = uploads.length === 0;
  const running = uploads.filter((upload) => upload.state === "uploading").length;
  const failed = uploads.filter((upload) => upload.state === "failed").length;
  sendButton.disabled = running > 0;
  if (!running) triedToSend = false;
  let text = "";
  if (running) {
    text = triedToSend
      ? `Wait for ${running === 1 ? "the upload" : `${running} uploads`} to finish, then send.`
      : `Uploading ${running} file${running === 1 ? "" : "s"}… Send is ready when ${running === 1 ? "it is" : "they are"} done.`;
  } else if (failed) {
    text = `${failed === 1 ? "A file" : `${failed} files`} could not be uploaded and will not be sent.`;
  }
  trayStatus.textContent = text;
  trayStatus.classList.toggle("urgent", triedToSend);
}

// Send was pressed (or Enter) while files upload: nothing goes out yet; the tray says why.
export function holdSend() {
  triedToSend = true;
  refresh();
}

// --- Picking, dropping, pasting ------------------------------------------------------------------

attachButton.addEventListener("click", () => picker.click());

picker.addEventListener("change", () => {
  addFiles([...picker.files]);
  picker.value = ""; // the same file may be picked again
  input.focus();
});

const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
let dragDepth = 0;

conversation.addEventListener("dragenter", (event) => {
  if (!carriesFiles(event) || !canPost()) return;
  event.preventDefault();
  dragDepth += 1;
  conversation.classList.add("dropping");
});

conversation.addEventListener("dragover", (event) => {
  if (!carriesFiles(event) || !canPost()) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
});

conversation.addEventListener("dragleave", (event) => {
  if (!carriesFiles(event)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) conversation.classList.remove("dropping");
});

conversation.addEventListener("drop", (event) => {
  dragDepth = 0;
  conversation.classList.remove("dropping");
  if (!carriesFiles(event) || !canPost()) return;
  event.preventDefault();
  addFiles([...event.dataTransfer.files]);
  input.focus();
});

// A file dropped anywhere else on the page is not opened in its place (which would leave the room).
for (const type of ["dragover", "drop"]) {
  window.addEventListener(type, (event) => {
    if (carriesFiles(event) && !event.defaultPrevented) event.preventDefault();
  });
}

// A pasted image (a screenshot, say) becomes an upload. A paste that has text as well (cells
// from a spreadsheet come with a picture of themselves) stays text.
input.addEventListener("paste", (event) => {
  const data = event.clipboardData;
  if (!data || !data.files.length || data.types.includes("text/plain") || !canPost()) return;
  event.preventDefault();
  addFiles([...data.files].map(namedPaste));
});

function namedPaste(file) {
  if (file.name && file.name !== "image.png") return file;
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}.${pad(now.getMinutes())}.${pad(now.getSeconds())}`;
  const extension = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
  return new File([file], `Pasted image ${stamp}.${extension}`, { type: file.type });
}
