// What can be done to a message already on screen: edit or delete my own, report someone else's,
// delete any as the chat's owner or an admin. Each opens in place, inside the message, and works
// on an entry ({message, node}) of the main flow or the thread panel alike; `entry.message` is
// always the message as the page last heard of it.

import { api, h } from "./common.js";
import { applyUpdate, fillMessage, isNewer } from "./room-messages.js";
import { chatId } from "./room-state.js";

export function startEdit(entry) {
  if (entry.node.classList.contains("editing")) return;
  const node = entry.node;
  const textarea = h("textarea", { rows: 3, maxlength: 10000, "aria-label": "Edit message" });
  textarea.value = entry.message.text;
  const error = h("p", { class: "form-error", role: "alert" });
  const cancel = () => fillMessage(entry);
  const form = h(
    "form",
    { class: "edit-form" },
    textarea,
    error,
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", class: "button small subtle", onclick: cancel }, "Cancel"),
      h("button", { type: "submit", class: "button small primary" }, "Save"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = textarea.value.trim();
    if (!text) {
      error.textContent = "A message cannot be empty. Delete it instead.";
      return;
    }
    if (text === entry.message.text) {
      cancel();
      return;
    }
    try {
      const updated = await api(`/api/chats/${chatId}/messages/${entry.message.id}/`, { method: "PATCH", body: { text } });
      node.classList.remove("editing");
      applyUpdate(isNewer(entry.message, updated) ? entry.message : updated);
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault(); // the edit closes, not the thread panel around it
      cancel();
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  node.classList.add("editing");
  node.querySelector(".text").replaceWith(form);
  textarea.focus();
  textarea.setSelectionRange(textarea.value.length, textarea.value.length);
}

export function startReport(entry) {
  if (entry.node.classList.contains("editing")) return;
  const node = entry.node;
  const reason = h("input", { type: "text", maxlength: 1000, placeholder: "What is wrong with it?", "aria-label": "Reason for the report" });
  const error = h("p", { class: "form-error", role: "alert" });
  const cancel = () => fillMessage(entry);
  const form = h(
    "form",
    { class: "edit-form report-form" },
    reason,
    error,
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", class: "button small subtle", onclick: cancel }, "Cancel"),
      h("button", { type: "submit", class: "button small primary" }, "Report"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (!text) {
      error.textContent = "Say what is wrong, for the moderators.";
      return;
    }
    try {
      await api(`/api/chats/${chatId}/messages/${entry.message.id}/report/`, { method: "POST", body: { reason: text } });
      node.classList.remove("editing");
      form.replaceWith(h("p", { class: "report-done" }, "Reported. The moderators will look at it."));
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  reason.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      cancel();
    }
  });
  node.classList.add("editing");
  node.querySelector(".bubble").append(form);
  reason.focus();
}

export function confirmDelete(entry) {
  const node = entry.node;
  const actions = node.querySelector(".actions");
  node.classList.add("confirming");
  const error = h("span", { class: "form-error" });
  actions.replaceChildren(
    h("span", { class: "muted" }, "Delete?"),
    h(
      "button",
      {
        type: "button",
        class: "link-button danger",
        onclick: async () => {
          try {
            await api(`/api/chats/${chatId}/messages/${entry.message.id}/`, { method: "DELETE" });
            applyUpdate({ ...entry.message, deleted: true, text: "", reactions: [], pinned: false });
          } catch (failure) {
            error.textContent = failure.message;
          }
        },
      },
      "Delete",
    ),
    h("button", { type: "button", class: "link-button", "data-focus": "action keep", onclick: () => fillMessage(entry) }, "Keep"),
    error,
  );
  actions.querySelector("[data-focus='action keep']").focus(); // the safe choice for a stray Enter
}
