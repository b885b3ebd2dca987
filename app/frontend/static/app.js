// The to-do single-page app: talks only to /api/ on its own origin (nginx proxies it to the back end).
"use strict";

const list = document.getElementById("todo-list");
const errorBox = document.getElementById("error");
const statusLine = document.getElementById("status");
const form = document.getElementById("add-form");
const titleInput = document.getElementById("new-title");
const servedBy = document.getElementById("served-by");

// Bounded so a hung back end shows an error instead of a page that waits forever.
const REQUEST_TIMEOUT_MS = 15000;

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearError() {
  errorBox.textContent = "";
  errorBox.hidden = true;
}

async function api(method, path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let response;
  try {
    response = await fetch("/api" + path, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (err) {
    throw new Error(`${method} /api${path} failed: ${err.name === "AbortError" ? "timed out" : err.message}`);
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 204) {
    return null;
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch (err) {
    payload = null;
  }
  if (!response.ok) {
    const detail = payload && typeof payload.detail === "string" ? payload.detail : response.statusText;
    throw new Error(`${method} /api${path} failed (${response.status}): ${detail}`);
  }
  return payload;
}

function renderItem(todo) {
  const item = document.createElement("li");
  item.dataset.testid = "todo-item";
  item.dataset.id = String(todo.id);
  item.dataset.completed = String(todo.completed);
  item.className = todo.completed ? "completed" : "";

  const toggle = document.createElement("input");
  toggle.type = "checkbox";
  toggle.checked = todo.completed;
  toggle.dataset.testid = "todo-toggle";
  toggle.setAttribute("aria-label", `Mark "${todo.title}" ${todo.completed ? "not done" : "done"}`);
  toggle.addEventListener("change", () => run(async () => {
    await api("PATCH", `/todos/${todo.id}`, { completed: toggle.checked });
  }));

  const title = document.createElement("span");
  title.className = "title";
  title.dataset.testid = "todo-title";
  title.textContent = todo.title;

  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "Delete";
  remove.dataset.testid = "todo-delete";
  remove.setAttribute("aria-label", `Delete "${todo.title}"`);
  remove.addEventListener("click", () => run(async () => {
    await api("DELETE", `/todos/${todo.id}`);
  }));

  item.append(toggle, title, remove);
  return item;
}

async function refresh() {
  const todos = await api("GET", "/todos");
  list.replaceChildren(...todos.map(renderItem));
  const open = todos.filter((t) => !t.completed).length;
  statusLine.textContent = `${todos.length} to-do(s), ${open} open`;
  document.body.dataset.loaded = "true";
}

// Runs one user action then reloads the list; any failure is shown in the alert box and keeps the page usable.
async function run(action) {
  document.body.dataset.busy = "true";
  let acted = false;
  try {
    await action();
    acted = true;
    clearError();
    await refresh();
  } catch (err) {
    showError(err.message);
    statusLine.textContent = "Could not load or update the to-dos";
    if (!acted) {
      // The action failed: reload so the list shows what the server really holds.
      try {
        await refresh();
      } catch (ignored) {
        // The first error is the one the user needs to see.
      }
    }
  } finally {
    document.body.dataset.busy = "false";
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const title = titleInput.value.trim();
  if (!title) {
    showError("A to-do needs a title");
    return;
  }
  run(async () => {
    await api("POST", "/todos", { title });
    titleInput.value = "";
  });
});

async function showServedBy() {
  try {
    const info = await api("GET", "/info");
    servedBy.textContent = `served by ${info.pod} on ${info.node} (version ${info.version})`;
  } catch (err) {
    servedBy.textContent = "";
  }
}

run(async () => {});
showServedBy();
