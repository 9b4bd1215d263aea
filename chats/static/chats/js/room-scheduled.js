// Scheduled messages: write one now to go out at a set time; the panel lists mine still due and
// the last few sent or failed.

import { $, api, apiAll, fullTime, h } from "./common.js";
import { canPost, chatId, state } from "./room-state.js";

let scheduledTimer = null;

export async function loadScheduled() {
  if (state.ended || !canPost()) return;
  let items;
  try {
    items = await apiAll(`/api/chats/${chatId}/scheduled/?limit=100`, 3);
  } catch {
    return;
  }
  const pending = items.filter((item) => item.status === "pending");
  const done = items.filter((item) => item.status !== "pending").reverse().slice(0, 5);
  $("#scheduled-list").replaceChildren(...[...pending, ...done].map(scheduledNode));
  // Look again just after the next one is due, to show it sent.
  clearTimeout(scheduledTimer);
  if (pending.length) {
    const due = Math.min(...pending.map((item) => new Date(item.send_at).getTime()));
    scheduledTimer = setTimeout(loadScheduled, Math.max(1000, due - Date.now() + 1500));
  }
}

function scheduledNode(item) {
  return h(
    "li",
    { class: `scheduled-item${item.status === "pending" ? "" : " done"}`, "data-scheduled-id": item.id },
    h("p", { class: "text" }, item.text),
    h(
      "div",
      { class: "scheduled-line" },
      h("span", { class: `status-tag ${item.status}` }, item.status),
      h("time", { datetime: item.send_at }, fullTime(item.send_at)),
      item.status === "pending" &&
        h(
          "button",
          {
            type: "button",
            class: "link-button danger",
            onclick: async () => {
              try {
                await api(`/api/chats/${chatId}/scheduled/${item.id}/`, { method: "DELETE" });
              } finally {
                loadScheduled();
              }
            },
          },
          "Cancel",
        ),
    ),
    item.status === "failed" && item.failure && h("p", { class: "form-error" }, item.failure),
  );
}

function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

const scheduleForm = $("#schedule-form");
const scheduleAt = $("#schedule-at");

function resetScheduleTime() {
  const soon = new Date(Date.now() + 5 * 60 * 1000);
  soon.setSeconds(0, 0);
  scheduleAt.value = toLocalInput(soon);
  scheduleAt.min = toLocalInput(new Date());
}

$("#schedule-zone").textContent = `(${Intl.DateTimeFormat().resolvedOptions().timeZone})`;
resetScheduleTime();

scheduleForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("#schedule-error");
  const text = $("#schedule-text").value.trim();
  const when = new Date(scheduleAt.value); // a datetime-local value is read in local time
  if (!text) {
    error.textContent = "Write the message first.";
    return;
  }
  if (Number.isNaN(when.getTime()) || when.getTime() <= Date.now()) {
    error.textContent = "Pick a time in the future.";
    return;
  }
  error.textContent = "";
  try {
    await api(`/api/chats/${chatId}/scheduled/`, { method: "POST", body: { text, send_at: when.toISOString() } });
    $("#schedule-text").value = "";
    resetScheduleTime();
    loadScheduled();
  } catch (failure) {
    error.textContent = failure.message;
  }
});
