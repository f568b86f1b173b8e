// The phone wall: polls GET /api/v1/farm, shows each phone's latest screen, and acts through the same API.
"use strict";

const API = "/api/v1";
const REFRESH_MS = 2000;
const SCREEN_MS = 3000;
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const TOKEN_KEY = "phonefarm-token"; // sessionStorage: this tab only
const PREFECT_DOWN = "The Prefect server is down";
let token = sessionStorage.getItem(TOKEN_KEY) || "";
const selected = new Set();
const cards = new Map(); // serial -> card element
const $ = (id) => document.getElementById(id);

class ApiError extends Error {}

async function call(method, path, body) {
  const headers = {};
  const sent = token;
  if (sent) headers.Authorization = "Bearer " + sent;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  if (response.status === 401) {
    if (sent === token) $("token-form").hidden = false; // not for a request sent before a new token was set
    throw new ApiError("The API wants its token: enter it above.");
  }
  return response;
}

async function json(method, path, body) {
  const envelope = await (await call(method, path, body)).json();
  if (envelope.code !== 0) throw new ApiError(envelope.message);
  return envelope.data;
}

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  const s = Math.round(value);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function button(text, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.addEventListener("click", () => action().catch((error) => say(error.message, true)));
  return element;
}

function link(text, href) {
  const element = document.createElement("a");
  element.textContent = text;
  element.href = href;
  element.target = "_blank";
  element.rel = "noopener";
  return element;
}

function healthText(health) {
  if (!health) return "-";
  const storage = health.free_storage_mb >= 1024 ? `${(health.free_storage_mb / 1024).toFixed(1)} GB` : `${health.free_storage_mb} MB`;
  return `battery ${health.battery_level_percent} %${health.charging ? " (charging)" : ""}, `
    + `${health.battery_temperature_c} C, ${storage} free, Android ${health.android_version}`;
}

function cardFor(phone) {
  let card = cards.get(phone.serial);
  if (!card) {
    card = $("phone-card").content.firstElementChild.cloneNode(true);
    card.dataset.serial = phone.serial;
    card.querySelector(".serial").textContent = phone.serial;
    card.querySelector(".pick").addEventListener("change", (event) => {
      event.target.checked ? selected.add(phone.serial) : selected.delete(phone.serial);
      showSelection();
    });
    cards.set(phone.serial, card);
    $("wall").append(card);
  }
  return card;
}

function renderTask(box, task) {
  box.replaceChildren();
  if (!task) {
    box.textContent = "Idle";
    return;
  }
  const what = `${task.status_text} ${task.script_name} (task ${task.id})`;
  box.append(what + (task.elapsed_seconds !== null ? ` for ${seconds(task.elapsed_seconds)} ` : " "));
  if (task.flow_run_url) box.append(link("run", task.flow_run_url), " ");
  box.append(button("Stop", async () => {
    await json("POST", `/task/${task.id}/stop`);
    say(`Task ${task.id} stopped.`);
    await refresh();
  }));
}

async function openArtifacts(taskId) {
  const listed = await json("GET", `/task/${taskId}/artifacts`);
  if (!listed.artifacts.length) return say(`Task ${taskId} left no artifacts.`);
  for (const artifact of listed.artifacts) {
    const bytes = new Uint8Array(await (await call("GET", `/task/${taskId}/artifacts/${encodeURIComponent(artifact.name)}`)).arrayBuffer());
    // A phone wrote these: opened in this page's origin, they must never be a document that runs
    // anything. A PNG only when its bytes are one; everything else as plain text.
    const type = PNG_MAGIC.every((byte, i) => bytes[i] === byte) ? "image/png" : "text/plain;charset=utf-8";
    const url = URL.createObjectURL(new Blob([bytes], {type}));
    window.open(url, "_blank", "noopener");
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}

function renderFailure(box, failure) {
  box.replaceChildren();
  if (!failure) return;
  box.append(`Last failure: ${failure.script_name} (task ${failure.id}) ${failure.end_time || ""}: ${failure.remark} `);
  box.append(button("Artifacts", () => openArtifacts(failure.id)), " ");
  box.append(button("Retry", async () => {
    await json("POST", `/task/${failure.id}/retry`);
    say(`Task ${failure.id} is queued again.`);
    await refresh();
  }));
}

function renderMarked(accounts) {
  // Accounts the apps blocked (banned, needs attention, rate-limited) get no task until cleared here or by the API.
  $("marked").hidden = accounts.length === 0;
  $("marked-list").replaceChildren(...accounts.map((account) => {
    const item = document.createElement("li");
    item.dataset.username = account.username;
    const until = account.mark_until ? ` until ${account.mark_until}` : "";
    item.append(`@${account.username} (${account.platform}, ${account.serial}): ${account.mark}${until}: ${account.mark_remark || ""} `);
    item.append(button("Clear", async () => {
      await json("DELETE", `/account/${encodeURIComponent(account.username)}/mark`);
      say(`The mark of @${account.username} is cleared.`);
      await refresh();
    }));
    return item;
  }));
}

function render(farm) {
  renderMarked(farm.marked_accounts);
  const marks = new Map(farm.marked_accounts.map((account) => [account.username, account.mark]));
  $("pc").textContent = `API on ${farm.pc}`;
  $("prefect").href = farm.prefect_ui_url;
  // Served from the index's copy while Prefect is down; the notice goes once it answers again.
  if (farm.prefect === "down") say(`${PREFECT_DOWN}: the last known state, as of ${farm.as_of ?? "unknown"}.`, true);
  else if ($("message").textContent.startsWith(PREFECT_DOWN)) say("");
  $("stats").replaceChildren(...Object.entries(farm.stats).map(([name, count]) => {
    const item = document.createElement("li");
    item.append(`${name} `);
    const number = document.createElement("b");
    number.textContent = count;
    item.append(number);
    return item;
  }));
  const present = new Set();
  for (const phone of farm.phones) {
    present.add(phone.serial);
    const card = cardFor(phone);
    const status = phone.contested ? "contested" : phone.state !== "device" ? "offline"
      : phone.task ? phone.task.status_text : "idle";
    card.className = `phone ${status}`;
    card.dataset.state = status;
    card.dataset.screen = phone.screen ? "yes" : "no";
    card.querySelector(".state").textContent = status;
    card.querySelector(".model").textContent = phone.model || "-";
    card.querySelector(".pc").textContent = phone.pc;
    card.querySelector(".accounts").textContent = phone.accounts.map((name) => marks.has(name) ? `${name} (${marks.get(name)})` : name)
      .join(", ") || "-";
    card.querySelector(".health").textContent = healthText(phone.health);
    card.querySelector(".kept-off").textContent = phone.kept_off ? `Takes no new task: ${phone.kept_off}` : "";
    renderTask(card.querySelector(".task"), phone.task);
    renderFailure(card.querySelector(".failure"), phone.last_failure);
    if (!phone.screen) card.querySelector(".no-screen").textContent = `Screens are taken of the API PC's phones only`;
  }
  for (const [serial, card] of cards) {
    if (!present.has(serial)) {
      card.remove();
      cards.delete(serial);
      selected.delete(serial);
    }
  }
  showSelection();
}

async function refreshScreens() {
  for (const card of cards.values()) {
    if (card.dataset.screen !== "yes") continue;
    const response = await call("GET", `/device/${encodeURIComponent(card.dataset.serial)}/screen`);
    const image = card.querySelector("img");
    if (response.status !== 200) {
      card.querySelector(".no-screen").textContent = card.dataset.state === "idle" ? "Taking a screenshot..." :
        "No screenshot while a task drives the phone";
      continue;
    }
    const old = image.getAttribute("src");
    image.src = URL.createObjectURL(await response.blob());
    image.title = "taken " + response.headers.get("Last-Modified");
    card.querySelector(".no-screen").textContent = "";
    if (old) URL.revokeObjectURL(old);
  }
}

function showSelection() {
  $("selection").textContent = selected.size ? `${selected.size} phone(s) selected` : "No phone selected";
}

async function createTasks(scriptName, scriptConfig) {
  if (!selected.size) throw new ApiError("Select phones first (the box next to each serial).");
  const data = await json("POST", "/task", {serials: [...selected], script_name: scriptName, script_config: scriptConfig});
  say(`Created ${data.task_ids.length} ${scriptName} task(s): ${data.task_ids.join(", ")}.`);
  await refresh();
}

function words(text) {
  return text.split(",").map((word) => word.trim()).filter(Boolean);
}

async function refresh() {
  render(await json("GET", "/farm"));
}

function loop(action, every) {
  const run = () => action().catch((error) => say(error.message, true)).finally(() => setTimeout(run, every));
  run();
}

function start() {
  $("token-button").addEventListener("click", () => { $("token-form").hidden = !$("token-form").hidden; });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token-form").hidden = true;
    say("Token set.");
    refresh().catch((error) => say(error.message, true));
  });
  $("follow-form").addEventListener("submit", (event) => {
    event.preventDefault();
    createTasks("follow", {target_users: words($("follow-targets").value)}).catch((error) => say(error.message, true));
  });
  $("post-form").addEventListener("submit", (event) => {
    event.preventDefault();
    createTasks("post", {material_list: words($("post-material").value), captions: $("post-caption").value})
      .catch((error) => say(error.message, true));
  });
  loop(refresh, REFRESH_MS);
  loop(refreshScreens, SCREEN_MS);
}

start();
