// A message's files: images as thumbnails that open larger in a lightbox, anything else as a chip
// that downloads. Their URLs are signed for me and hold for an hour; every copy of the message the
// page gets (history, events, sync) brings fresh ones. A page open longer than that asks for the
// message again before it opens or downloads one of its files, or when a thumbnail fails to load.

import { $, api, h } from "./common.js";

// The largest a thumbnail is drawn (the server makes them to fit 320×320).
const THUMB_BOX = 240;
const UNITS = ["KB", "MB", "GB", "TB"];
// The URLs hold for an hour (ATTACHMENT_URL_MAX_AGE at most): renewed some minutes before.
let freshForMs = 50 * 60 * 1000;
const received = new WeakMap(); // an Attachment payload -> when the page got it

export function setFreshFor(ms) {
  freshForMs = ms; // test hook (window.chatDebug)
}

function stale(attachment) {
  return Date.now() - (received.get(attachment) ?? 0) >= freshForMs;
}

// Fresh URLs for one of a message's files, from the message read again (the one message before
// the next seq). The payload is updated in place, so every drawing of the message has them.
async function renew(message, attachment) {
  if (!message || !stale(attachment)) return true;
  try {
    const data = await api(`/api/chats/${message.chat_id}/messages/?before=${message.seq + 1}&limit=1`);
    const again = data.results.find((found) => found.id === message.id);
    const fresh = again && again.attachments.find((found) => found.id === attachment.id);
    if (!fresh) return false;
    attachment.url = fresh.url;
    attachment.thumbnail_url = fresh.thumbnail_url;
    received.set(attachment, Date.now());
    return true;
  } catch {
    return false;
  }
}

// 1536 -> "1.5 KB", 26214400 -> "25 MB".
export function humanSize(bytes) {
  const size = Number(bytes) || 0;
  if (size < 1024) return `${size} B`;
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value < 10 ? value.toFixed(1).replace(/\.0$/, "") : String(Math.round(value));
  return `${shown} ${UNITS[unit]}`;
}

export function isImage(attachment) {
  return attachment.content_type.startsWith("image/") && attachment.width && attachment.height;
}

// What a message says in a line (the reply bar, the pinned bar): its text, or its files' names.
export function messageSummary(message) {
  if (message.text || !message.attachments || !message.attachments.length) return message.text;
  return `📎 ${message.attachments.map((attachment) => attachment.name).join(", ")}`;
}

// The box an image is drawn in: its own width and height scaled down to fit THUMB_BOX, set as
// the <img>'s attributes so that its place is kept before it loads (no layout shift).
function thumbSize(attachment) {
  const scale = Math.min(1, THUMB_BOX / attachment.width, THUMB_BOX / attachment.height);
  return {
    width: Math.max(1, Math.round(attachment.width * scale)),
    height: Math.max(1, Math.round(attachment.height * scale)),
  };
}

// The extension as a badge: "PDF", "ZIP"; a generic mark for a name without one.
function fileBadge(name) {
  const match = /\.([a-z0-9]{1,4})$/i.exec(name);
  return match ? match[1].toUpperCase() : "FILE";
}

function imageNode(attachment, message) {
  const { width, height } = thumbSize(attachment);
  const thumb = h("img", { src: attachment.thumbnail_url || attachment.url, alt: attachment.name, width, height, loading: "lazy", decoding: "async" });
  // A thumbnail that fails to load because its URL is too old gets a fresh one, once.
  thumb.addEventListener(
    "error",
    async () => {
      if (stale(attachment) && (await renew(message, attachment))) thumb.src = attachment.thumbnail_url || attachment.url;
    },
    { once: true },
  );
  return h(
    "button",
    {
      type: "button",
      class: "attachment-image",
      "aria-haspopup": "dialog",
      title: `${attachment.name} (${humanSize(attachment.size)}): open larger`,
      "data-focus": `attachment ${attachment.id}`,
      "data-attachment-id": attachment.id,
      onclick: async (event) => {
        event.stopPropagation(); // not a tap that opens the message's menu
        const button = event.currentTarget;
        await renew(message, attachment);
        openLightbox(attachment, button);
      },
    },
    thumb,
  );
}

function fileNode(attachment, message) {
  return h(
    "a",
    {
      class: "attachment-file",
      href: attachment.url,
      download: attachment.name,
      "data-focus": `attachment ${attachment.id}`,
      "data-attachment-id": attachment.id,
      onclick: async (event) => {
        event.stopPropagation();
        const link = event.currentTarget;
        if (!message || !stale(attachment) || link.dataset.renewed) {
          delete link.dataset.renewed;
          link.href = attachment.url; // another drawing of the message may have renewed it
          return;
        }
        // Too old to hold: the download goes once the message has given a fresh URL.
        event.preventDefault();
        if (!(await renew(message, attachment))) return;
        link.href = attachment.url;
        link.dataset.renewed = "true";
        link.click();
      },
    },
    h("span", { class: "file-badge", "aria-hidden": "true" }, fileBadge(attachment.name)),
    h(
      "span",
      { class: "file-main" },
      h("span", { class: "file-name" }, attachment.name),
      h("span", { class: "file-size" }, h("span", { class: "visually-hidden" }, ", "), humanSize(attachment.size)),
    ),
  );
}

// The message's files, images first, as drawn in its bubble; null if it has none. Without the
// message (a pending one's, from my own uploads), the files' URLs are never renewed.
export function attachmentList(attachments, message = null) {
  if (!attachments || !attachments.length) return null;
  for (const attachment of attachments) if (!received.has(attachment)) received.set(attachment, Date.now());
  const images = attachments.filter(isImage);
  const others = attachments.filter((attachment) => !isImage(attachment));
  return h(
    "div",
    { class: "attachments" },
    images.length > 0 && h("div", { class: `attachment-images${images.length > 1 ? " several" : ""}` }, ...images.map((image) => imageNode(image, message))),
    others.length > 0 && h("div", { class: "attachment-files" }, ...others.map((file) => fileNode(file, message))),
  );
}

// --- The lightbox: a modal <dialog> (Escape and its ✕ close it; the focus stays inside while it
// is open and goes back to the thumbnail after). -----------------------------------------------

const lightbox = $("#lightbox");
const lightboxImage = $("#lightbox-image");
let opener = null; // {node, id}: the thumbnail that opened it

function openLightbox(attachment, from) {
  opener = { node: from, id: attachment.id };
  $("#lightbox-title").textContent = attachment.name;
  $("#lightbox-size").textContent = `${attachment.width} × ${attachment.height} · ${humanSize(attachment.size)}`;
  const download = $("#lightbox-download");
  download.href = attachment.url;
  download.setAttribute("download", attachment.name);
  lightboxImage.alt = attachment.name;
  lightboxImage.width = attachment.width;
  lightboxImage.height = attachment.height;
  lightboxImage.src = attachment.url;
  lightbox.showModal();
  $("#lightbox-close").focus();
}

function closeLightbox() {
  if (lightbox.open) lightbox.close();
}

lightbox.addEventListener("close", () => {
  lightboxImage.removeAttribute("src");
  if (!opener) return;
  // Back to the thumbnail; to its redrawn copy if the message was drawn again meanwhile.
  const back = opener.node.isConnected ? opener.node : document.querySelector(`.attachment-image[data-attachment-id="${opener.id}"]`);
  opener = null;
  if (back) back.focus();
});

// A click on the backdrop (the dialog itself, outside its contents) closes it too.
lightbox.addEventListener("click", (event) => {
  if (event.target === lightbox || event.target === $(".lightbox-stage")) closeLightbox();
});

$("#lightbox-close").addEventListener("click", closeLightbox);
