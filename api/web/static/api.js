// Calls to the service, relative to the page (so it works behind a path prefix). The planner's
// API key lives in sessionStorage only: gone when the tab closes, never sent anywhere else.

const KEY = "simtaru.apiKey";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  get code() {
    return (this.problem.type || "").split(":").pop();
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setApiKey(value) {
  if (value) sessionStorage.setItem(KEY, value.trim());
  else sessionStorage.removeItem(KEY);
}

async function call(method, path, { json, form, query, extra } = {}) {
  const url = new URL(path, document.baseURI);
  for (const [name, value] of Object.entries(query || {})) {
    for (const item of [].concat(value)) url.searchParams.append(name, item);
  }
  const headers = { Accept: "application/json", ...extra };
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const answer = await fetch(url, { method, headers, body });
  const type = answer.headers.get("content-type") || "";
  if (!answer.ok) {
    const problem = type.includes("json") ? await answer.json() : { detail: await answer.text() };
    throw new ApiError(answer.status, problem);
  }
  if (type.includes("json")) return answer.json();
  return answer.blob();
}

export const get = (path, query) => call("GET", path, { query });
export const post = (path, json, extra) => call("POST", path, { json, extra });
export const upload = (path, form) => call("POST", path, { form });
/** A document (HTML or PDF) as a blob, fetched with the key. */
export const blob = (path, query) => call("GET", path, { query, extra: { Accept: "*/*" } });
