// The planners' map: pick a plan version, click a place to read its rules, draw / upload / find
// parcels, check them against the plan and see why, compare two versions.

import { TerraDraw, TerraDrawPolygonMode } from "terra-draw";
import { TerraDrawMapLibreGLAdapter } from "terra-draw-maplibre-gl-adapter";
import { ApiError, apiKey, blob, get, post, setApiKey, upload } from "./api.js";
import { getLanguage, num, setLanguage, t } from "./i18n.js";
import {
  addWorkLayers,
  createMap,
  fitTo,
  pickZones,
  setData,
  setOverlayVisible,
  showVersion,
} from "./map.js";

const config = JSON.parse(document.getElementById("config").textContent);
const symbology = config.symbology;
const $ = (id) => document.getElementById(id);

const state = {
  versions: [], // {id, plan_id, label, status, plan_name, region_code}
  version: null,
  families: null, // the zone families the chosen version has (null: not known yet)
  overlays: new Set(),
  parcels: [], // {id, name, geometry, area_m2, selected, outside}
  nextParcel: 1,
  here: null, // what the last click found: {kind: "here"|"subzone", data}
  checked: null, // {body, decision, recorded}
  comparison: null,
  drawing: false,
  placed: location.hash.length > 1, // the address names a view (#zoom/lat/lon): keep it
};

// -- small helpers ---------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function say(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = !text;
}

const norm = (text) => String(text || "").toLocaleLowerCase().split(/\s+/).filter(Boolean).join(" ");
const familyOf = (code) => (/^\s*([A-Za-z]+)/.exec(code || "") || [null, null])[1];

/** A failed call in the page's language: the problem's reason where the service gives one. */
function problemText(error, values = {}) {
  if (!(error instanceof ApiError)) return t("server_error", { detail: error.message });
  const problem = error.problem;
  if (error.code === "invalid-parcel-file") {
    return t(`upload_${problem.reason}`, { ...values, ...problem, detail: problem.detail });
  }
  if (error.code === "body-too-large") return t("too_large");
  if (error.code === "unauthorized") return t("need_key");
  if (error.code === "forbidden") return t("forbidden", { detail: problem.detail });
  return t("server_error", { detail: problem.detail || error.message });
}

// -- versions, legend, overlays ------------------------------------------------------------------

function versionLabel(v) {
  return `${v.plan_name} · v${v.id} “${v.label}” (${t(v.status)})`;
}

function renderVersions() {
  for (const select of [$("version"), $("compare-a"), $("compare-b")]) {
    const chosen = select.value;
    select.replaceChildren(...state.versions.map((v) => el("option", { value: v.id }, versionLabel(v))));
    if (chosen) select.value = chosen;
  }
  if (state.version) $("version").value = state.version.id;
}

async function loadVersions() {
  const { plans } = await get("v1/plans");
  state.versions = plans.flatMap((plan) =>
    plan.versions.map((v) => ({ ...v, plan_name: plan.name, region_code: plan.region.code })),
  );
  renderVersions();
  const active = state.versions.find((v) => v.status === "active") || state.versions[0];
  if (active) await chooseVersion(active.id);
  const others = state.versions.filter((v) => v.id !== active?.id);
  if (others.length) {
    $("compare-a").value = others[0].id;
    $("compare-b").value = active.id;
  }
}

async function chooseVersion(id) {
  state.version = state.versions.find((v) => v.id === Number(id));
  $("version").value = state.version.id;
  showVersion(map, state.version.id, symbology);
  for (const kind of state.overlays) setOverlayVisible(map, kind, true);
  const tiles = await get(`v1/tiles/zones_v${state.version.id}/tilejson.json`);
  if (tiles.bounds && !state.placed) map.fitBounds(tiles.bounds, { padding: 20, duration: 0 });
  state.placed = false;
  const [loaded, subzones] = await Promise.all([
    get(`v1/regions/${state.version.region_code}/parcels`),
    get(`v1/versions/${state.version.id}/subzones`),
  ]);
  $("nib-row").hidden = !loaded.count;
  state.families = new Set(subzones.subzones.filter((z) => z.zones).map((z) => z.zone_code || ""));
  renderLegend();
}

function renderLegend() {
  const lang = getLanguage();
  const name = (entry) => (lang === "id" ? entry.name_id : entry.name_en);
  const present = (f) => !state.families || state.families.has(f.code);
  const known = new Set(symbology.families.map((f) => f.code));
  const other = state.families && [...state.families].some((code) => !known.has(code));
  const shown = [...symbology.families.filter(present), ...(other || !state.families ? [symbology.other] : [])];
  const families = shown.map((f) =>
    el("li", {}, el("span", { class: "swatch", style: `background:${f.colour}` }), `${f.code} ${name(f)}`),
  );
  const overlays = [...symbology.overlays, symbology.other_overlay].map((o) =>
    el(
      "li",
      {},
      el(
        "label",
        {},
        el("input", {
          type: "checkbox",
          "data-overlay": o.code || "other",
          checked: state.overlays.has(o.code) ? "checked" : null,
          onchange: (event) => {
            if (event.target.checked) state.overlays.add(o.code);
            else state.overlays.delete(o.code);
            setOverlayVisible(map, o.code, event.target.checked);
          },
        }),
        el("span", { class: "swatch outline", style: `border-color:${o.colour}` }),
        `${o.code} ${name(o)}`,
      ),
    ),
  );
  $("legend").replaceChildren(
    el(
      "details",
      { open: "open" },
      el("summary", {}, t("legend")),
      el("ul", { class: "families" }, families),
      el("h3", {}, t("overlays")),
      el("ul", { class: "overlays" }, overlays),
    ),
  );
}

// -- place info ------------------------------------------------------------------------------

async function showPlace(event) {
  if (state.drawing || !state.version) return;
  const [zone] = map.queryRenderedFeatures(event.point, { layers: ["zones-fill"] });
  pickZones(map, zone ? [zone.properties.zone_id] : []);
  say("");
  try {
    if (state.version.status === "active") {
      const { lng, lat } = event.lngLat;
      const data = await get("v1/here", { lon: lng, lat, plan_id: state.version.plan_id });
      state.here = { kind: "here", data };
    } else if (zone?.properties.subzone_code) {
      const data = await get(
        `v1/versions/${state.version.id}/subzones/${encodeURIComponent(zone.properties.subzone_code)}`,
      );
      state.here = { kind: "subzone", data };
    } else {
      state.here = { kind: "here", data: { places: [] } };
    }
  } catch (error) {
    say(problemText(error));
    return;
  }
  showTab("info");
  renderPlace();
}

/** Sub-zones as the place info shows them, from /v1/here or from a version's sub-zone. */
function placeSubzones() {
  const { kind, data } = state.here;
  if (kind === "here") {
    return data.places.flatMap((place) =>
      place.subzones.map((z) => ({
        code: z.subzone_code,
        name: z.subzone_name,
        zone: z.zone_code,
        blocks: z.blocks,
        itbx: z.itbx,
        intensity: z.intensity,
        provisions: place.provisions,
      })),
    );
  }
  return [
    {
      code: data.code,
      name: data.name,
      zone: data.zone_code,
      blocks: data.blocks,
      itbx: data.itbx.map((row) => ({
        ...row,
        conditions: row.legend.filter((l) => l.text && l.klass !== "X"),
      })),
      intensity: data.intensity,
      provisions: data.provisions.map((p) => ({ kind: p.provision, klass: p.klass, rules: [p] })),
    },
  ];
}

function renderPlace() {
  if (!state.here) return;
  const subzones = placeSubzones();
  if (!subzones.length) {
    $("info").replaceChildren(el("p", { class: "outside" }, t("outside_plan")));
    return;
  }
  const lang = getLanguage();
  $("info").replaceChildren(
    ...subzones.map((z) => {
      const family = symbology.families.find((f) => f.code === z.zone) || symbology.other;
      return el(
        "article",
        { class: "place" },
        el(
          "h3",
          {},
          el("span", { class: "swatch", style: `background:${family.colour}` }),
          `${t("subzone")} ${z.code || "-"} · ${z.name || ""}`,
        ),
        el("p", {}, `${t("zone")}: ${z.zone || "-"} ${lang === "id" ? family.name_id : family.name_en}`),
        z.blocks?.length ? el("p", {}, `${t("block")}: ${z.blocks.join(", ")}`) : null,
        provisionsView(z.provisions),
        intensityView(z.intensity),
        itbxView(z.itbx),
      );
    }),
  );
}

function provisionsView(provisions) {
  const items = (provisions || []).map((p) =>
    el(
      "li",
      {},
      el("b", {}, p.kind),
      p.klass ? ` ${p.klass}` : "",
      p.name ? ` (${p.name})` : "",
      p.ceiling_m != null ? ` ≤ ${num(p.ceiling_m)} m dpl` : "",
      ...(p.rules || []).map((r) => el("div", { class: "small" }, r.text)),
    ),
  );
  return el(
    "section",
    {},
    el("h4", {}, t("provisions")),
    items.length ? el("ul", { class: "provisions" }, items) : el("p", { class: "small" }, t("no_provisions")),
  );
}

const LIMITS = ["kdb_max_pct", "klb_max", "kdh_min_pct", "ktb_max_pct", "height_max_m", "floors_max", "lot_min_m2", "gsb_min_m"];

function intensityView(rows) {
  if (!rows?.length) return null;
  const head = el("tr", {}, el("th", {}, ""), ...rows.map((r) => el("th", {}, r.road_class || r.variant || "")));
  const body = LIMITS.filter((name) => rows.some((r) => r[name] != null)).map((name) =>
    el("tr", {}, el("th", {}, t(name)), ...rows.map((r) => el("td", {}, r[name] ?? "-"))),
  );
  return el("section", {}, el("h4", {}, t("intensity")), el("table", { class: "intensity" }, head, body));
}

function itbxView(rows) {
  const list = el("ul", { class: "itbx" });
  const count = el("div", { class: "small" });
  const search = el("input", { type: "search", class: "itbx-search", placeholder: t("itbx_search") });
  const render = () => {
    const words = norm(search.value).split(" ").filter(Boolean);
    const shown = rows.filter((row) => {
      const text = norm(`${row.name} ${row.group || ""} ${row.activity_id} ${row.kbli.join(" ")}`);
      return words.every((w) => text.includes(w));
    });
    list.replaceChildren(
      ...shown.slice(0, 200).map((row) =>
        el(
          "li",
          { class: `klass-${row.klass}` },
          el("span", { class: `badge klass-${row.klass}`, title: t(`class_${row.klass}`) }, row.raw || row.klass),
          ` ${row.name}`,
          row.kbli.length ? el("span", { class: "small" }, ` KBLI ${row.kbli.join(", ")}`) : "",
          ...(row.conditions || []).map((c) => el("div", { class: "condition" }, `${c.code}: ${c.text}`)),
        ),
      ),
    );
    count.textContent = t("itbx_count", { shown: Math.min(shown.length, 200), total: rows.length });
  };
  search.addEventListener("input", render);
  render();
  return el("section", {}, el("h4", {}, t("itbx")), search, count, list);
}

// -- parcels -----------------------------------------------------------------------------------

function renderParcels() {
  setData(map, "parcels", {
    type: "FeatureCollection",
    features: state.parcels.map((p) => ({
      type: "Feature",
      geometry: p.geometry,
      properties: { id: p.id, selected: p.selected },
    })),
  });
  $("parcels").replaceChildren(
    ...state.parcels.map((p) =>
      el(
        "li",
        { class: p.outside ? "outside" : "" },
        el(
          "label",
          {},
          el("input", {
            type: "checkbox",
            checked: p.selected ? "checked" : null,
            onchange: (event) => {
              p.selected = event.target.checked;
              state.checked = null;
              renderParcels();
            },
          }),
          ` ${p.name}`,
          p.area_m2 != null ? el("span", { class: "small" }, ` ${num(p.area_m2)} m²`) : "",
        ),
        el(
          "button",
          {
            type: "button",
            class: "link",
            onclick: () => {
              state.parcels = state.parcels.filter((q) => q !== p);
              state.checked = null;
              renderParcels();
            },
          },
          t("remove"),
        ),
      ),
    ),
  );
}

/** Add parcels (GeoJSON features) to the list, selected, and say which lie outside the plan. */
async function addParcels(features, namer) {
  const added = features.map((feature, index) => ({
    id: state.nextParcel++,
    name: namer(feature, index),
    geometry: feature.geometry,
    area_m2: feature.properties?.area_m2 ?? null,
    selected: true,
    outside: false,
  }));
  state.parcels.push(...added);
  state.checked = null;
  renderParcels();
  if (added.length) fitTo(map, { features: added.map((p) => ({ geometry: p.geometry })) });
  const outside = [];
  for (const parcel of added.slice(0, 20)) {
    const found = await post("v1/here", { geometry: parcel.geometry, plan_id: state.version.plan_id });
    parcel.outside = !found.places.length;
    if (parcel.outside) outside.push(parcel.name);
    else parcel.area_m2 ??= found.places[0].parcel_area_m2;
  }
  renderParcels();
  if (outside.length) say(t("parcel_outside", { name: outside.join(", ") }));
  else if (added.length === 1) say(t("parcel_added", { name: added[0].name, area: num(added[0].area_m2) }), "info");
}

async function uploadParcel(file) {
  say("");
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const parsed = await upload("v1/parcels/parse", form);
    await addParcels(parsed.features, (f, i) =>
      parsed.id_column === "row" ? `${file.name}${parsed.features.length > 1 ? ` #${i + 1}` : ""}` : `${parsed.id_column} ${f.properties.parcel_id}`,
    );
  } catch (error) {
    say(problemText(error, { file: file.name }));
  }
}

async function findNib() {
  const nibs = $("nib").value.split(/[\s,;]+/).filter(Boolean);
  if (!nibs.length) return;
  say("");
  try {
    const found = await get(`v1/regions/${state.version.region_code}/parcels/items`, { nib: nibs });
    await addParcels(found.features, (f) => `NIB ${f.properties.parcel_id}`);
  } catch (error) {
    const missing = error.problem?.missing;
    say(missing ? t("nib_missing", { nib: missing.join(", ") }) : problemText(error));
  }
}

function startDrawing() {
  state.drawing = true;
  draw.setMode("polygon");
  say(t("drawing"), "info");
}

function selectedParcel() {
  const chosen = state.parcels.filter((p) => p.selected);
  if (!chosen.length) return null;
  if (chosen.length === 1) return chosen[0].geometry;
  const polygons = chosen.flatMap((p) =>
    p.geometry.type === "Polygon" ? [p.geometry.coordinates] : p.geometry.coordinates,
  );
  return { type: "MultiPolygon", coordinates: polygons };
}

// -- activity ----------------------------------------------------------------------------------

let typing;
function suggestActivities() {
  clearTimeout(typing);
  typing = setTimeout(async () => {
    const q = $("activity").value.trim();
    if (!q || !state.version) return;
    const found = await get(`v1/versions/${state.version.id}/activities`, { q, limit: 20 });
    const digits = /^\d+$/.test(q);
    $("activities").replaceChildren(
      ...found.activities.map((a) =>
        el("option", { value: digits ? a.kbli.find((k) => k.startsWith(q)) || a.id : a.name }, `${a.kbli.join(", ")} ${a.name}`),
      ),
    );
  }, 200);
}

/** The plan's activity the input names exactly (id, KBLI or name), or null. */
async function resolveActivity(text) {
  const found = await get(`v1/versions/${state.version.id}/activities`, { q: text, limit: 50 });
  return (
    found.activities.find((a) => a.id === text || a.kbli.includes(text) || norm(a.name) === norm(text)) || null
  );
}

// -- the check -------------------------------------------------------------------------------

const FIGURES = ["footprint_m2", "floor_area_m2", "floors", "height_m", "green_area_m2", "basement_m2", "ground_elevation_m"];

/** The check request from the form, or null after saying what is missing. */
async function checkRequest() {
  if (!apiKey()) return say(t("need_key")), null;
  const parcel = selectedParcel();
  if (!parcel) return say(t("no_parcel")), null;
  const activity = $("activity").value.trim();
  if (!activity) return say(t("no_activity")), null;
  const known = await resolveActivity(activity);
  if (!known) return say(t("activity_unknown", { activity })), null;
  $("activity-name").textContent = `${known.name}${known.kbli.length ? ` (KBLI ${known.kbli.join(", ")})` : ""}`;
  const building = {};
  for (const name of FIGURES) {
    const value = $(name).value;
    if (value !== "") building[name] = name === "floors" ? parseInt(value, 10) : parseFloat(value);
  }
  const body = { parcel, activity, building, plan_id: state.version.plan_id };
  if ($("road_class").value) body.road_class = $("road_class").value;
  return body;
}

const outside = (decision) => decision.outcome === "not_assessable" && !decision.zones.length;

async function runCheck() {
  say("");
  let body;
  try {
    body = await checkRequest();
    if (!body) return;
    say(t("checking"), "info");
    const decision = await post("v1/checks", body);
    state.checked = { body, decision, recorded: null, key: crypto.randomUUID() };
    say(outside(decision) ? t("check_outside") : "");
    renderDecision();
    if (decision.plan) {
      const found = await post(`v1/versions/${decision.plan.version_id}/pieces`, { parcel: body.parcel });
      setData(map, "pieces", found);
      pickZones(map, decision.zones.map((z) => z.zone_id));
      fitTo(map, { features: [{ geometry: body.parcel }] });
    } else {
      setData(map, "pieces", null);
    }
  } catch (error) {
    say(problemText(error));
  }
}

async function record() {
  say("");
  try {
    const body = await checkRequest();
    if (!body) return;
    const checked = state.checked;
    if (!checked || JSON.stringify(checked.body) !== JSON.stringify(body)) return say(t("record_first"));
    if (outside(checked.decision)) return say(t("not_recorded_outside"));
    const recorded = await post("v1/decisions", body, { "Idempotency-Key": checked.key });
    checked.recorded = recorded;
    say(t("recorded", { id: recorded.id }), "info");
    renderDecision();
  } catch (error) {
    say(problemText(error));
  }
}

async function openDocument(id, kind) {
  try {
    const file = await blob(`v1/decisions/${id}/document${kind === "pdf" ? ".pdf" : ""}`, { lang: getLanguage() });
    window.open(URL.createObjectURL(file), "_blank");
  } catch (error) {
    say(problemText(error));
  }
}

function renderDecision() {
  const checked = state.checked;
  if (!checked) {
    $("decision").replaceChildren();
    return;
  }
  const d = checked.decision;
  const lang = getLanguage();
  const figure = (value, unit) =>
    value == null ? "-" : `${typeof value === "number" ? num(value, 2) : value}${unit && unit !== "ratio" ? ` ${unit}` : ""}`;
  const zones = el(
    "table",
    { class: "zones" },
    d.zones.map((z) =>
      el(
        "tr",
        {},
        el("td", {}, z.subzone_code || "-"),
        el("td", {}, z.subzone_name || ""),
        el("td", {}, `${num(z.area_m2)} m²`),
        el("td", {}, `${num(100 * z.share)} %`, z.deciding ? "" : ` (${t("sliver")})`),
      ),
    ),
  );
  const findings = d.findings.map((f) =>
    el(
      "li",
      { class: `finding status-${f.status}` },
      el("span", { class: `badge status-${f.status}` }, t(`status_${f.status}`)),
      ` ${lang === "id" ? f.message_id : f.message_en}`,
      el(
        "div",
        { class: "small" },
        `${f.rule} · ${t("measured")} ${figure(f.measured, f.unit)} · ${t("limit")} ${figure(f.limit, f.unit)} · ${t("basis")}: ${f.basis}`,
      ),
    ),
  );
  const documents = checked.recorded
    ? el(
        "div",
        { class: "row" },
        el("button", { type: "button", id: "doc-html", onclick: () => openDocument(checked.recorded.id, "html") }, t("document_html")),
        el("button", { type: "button", id: "doc-pdf", onclick: () => openDocument(checked.recorded.id, "pdf") }, t("document_pdf")),
      )
    : null;
  $("decision").replaceChildren(
    el("div", { class: `outcome outcome-${d.outcome}`, id: "outcome", "data-outcome": d.outcome }, `${t("outcome")}: ${t(`outcome_${d.outcome}`)}`),
    d.zones.length ? el("h3", {}, t("zones_table")) : null,
    d.zones.length ? zones : null,
    el("h3", {}, t("findings")),
    el("ul", { class: "findings" }, findings),
    documents,
  );
}

// -- comparison ------------------------------------------------------------------------------

async function runCompare() {
  const a = $("compare-a").value;
  const b = $("compare-b").value;
  say("");
  if (a === b) return say(t("same_version"));
  try {
    const found = await get(`v1/versions/${a}/compare/${b}`);
    for (const f of found.pieces.features) f.properties.to_family = familyOf(f.properties.to_code);
    state.comparison = found;
    setData(map, "compare", found.pieces);
    if (found.pieces.features.length) fitTo(map, found.pieces);
    renderComparison();
  } catch (error) {
    say(problemText(error));
  }
}

function renderComparison() {
  const found = state.comparison;
  if (!found) {
    $("comparison").replaceChildren();
    return;
  }
  const rows = found.summary.map((s) =>
    el(
      "tr",
      {},
      el("td", {}, t("from_to", { from: s.from_code || t("none"), to: s.to_code || t("none") })),
      el("td", {}, `${num(s.area_m2)} m²`),
      el("td", {}, s.pieces),
    ),
  );
  $("comparison").replaceChildren(
    el("p", { id: "changed" }, rows.length ? t("changed_area", { area: num(found.changed_area_m2), count: found.pieces.features.length }) : t("no_changes")),
    el("table", { class: "zones" }, rows),
    ruleChangesView(found),
  );
}

// The rule tables and rasters that differ between the two versions, one line each.
function ruleChangesView(found) {
  const tables = { ...found.rules, rasters: found.rasters };
  const lines = Object.entries(tables)
    .filter(([, c]) => c.added.length || c.removed.length || c.changed.length)
    .map(([name, c]) =>
      el("li", {}, t("table_changes", { table: t(`table_${name}`), changed: c.changed.length, added: c.added.length, removed: c.removed.length })),
    );
  return lines.length ? el("ul", { id: "rule-changes" }, lines) : el("p", { id: "rule-changes", class: "small" }, t("no_rule_changes"));
}

// -- the page ----------------------------------------------------------------------------------

function showTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("on", tab.dataset.tab === name);
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `tab-${name}`;
}

function switchLanguage(lang) {
  setLanguage(lang);
  localStorage.setItem("simtaru.lang", lang);
  renderVersions();
  renderLegend();
  renderPlace();
  renderParcels();
  renderDecision();
  renderComparison();
}

const map = createMap($("map"), config);
let draw;

setLanguage(new URLSearchParams(location.search).get("lang") || localStorage.getItem("simtaru.lang") || config.language);
renderLegend();
showTab("info");
$("api-key").value = apiKey();
$("key-form").addEventListener("submit", (event) => event.preventDefault());
$("api-key").addEventListener("change", (event) => {
  setApiKey(event.target.value);
  say(event.target.value ? t("key_saved") : "", "info");
});
for (const button of document.querySelectorAll("[data-lang]")) {
  button.addEventListener("click", () => switchLanguage(button.dataset.lang));
}
for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
$("version").addEventListener("change", (event) => chooseVersion(event.target.value).catch((e) => say(problemText(e))));
$("draw").addEventListener("click", startDrawing);
$("upload").addEventListener("change", (event) => {
  const [file] = event.target.files;
  event.target.value = "";
  if (file) uploadParcel(file);
});
$("nib-find").addEventListener("click", findNib);
$("activity").addEventListener("input", suggestActivities);
$("run-check").addEventListener("click", runCheck);
$("record").addEventListener("click", record);
$("run-compare").addEventListener("click", runCompare);
$("clear-compare").addEventListener("click", () => {
  state.comparison = null;
  setData(map, "compare", null);
  renderComparison();
});

map.on("load", async () => {
  addWorkLayers(map, symbology);
  draw = new TerraDraw({ adapter: new TerraDrawMapLibreGLAdapter({ map }), modes: [new TerraDrawPolygonMode()] });
  draw.start();
  draw.on("finish", (id) => {
    const feature = draw.getSnapshotFeature(id);
    draw.clear();
    draw.setMode("static");
    state.drawing = false;
    say("");
    if (feature) addParcels([feature], () => `${t("parcel")} ${state.nextParcel}`).catch((e) => say(problemText(e)));
  });
  map.on("click", showPlace);
  try {
    await loadVersions();
    document.body.dataset.ready = "true";
  } catch (error) {
    say(problemText(error));
  }
});
// When the map has drawn all it was asked to: the moment of its last idle, cleared by any change.
map.on("render", () => delete document.body.dataset.idle);
map.on("idle", () => {
  document.body.dataset.idle = String(Date.now());
});
