// The map: the chosen plan version's zones and overlays as the service's vector tiles, coloured
// by zone family from the symbology table the page carries; the parcels being checked, the
// pieces a check found, and the zones that changed between two versions, as GeoJSON layers.

import * as maplibregl from "maplibre-gl";

const EMPTY = { type: "FeatureCollection", features: [] };

/** A fill colour expression: the zone family's colour from the table. */
function familyColour(symbology, property = "zone_code") {
  const match = ["match", ["coalesce", ["get", property], ""]];
  for (const family of symbology.families) match.push(family.code, family.colour);
  match.push(symbology.other.colour);
  return match;
}

export function overlayKinds(symbology) {
  return symbology.overlays.map((o) => o.code);
}

export function createMap(container, config) {
  const sources = {};
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#f5f5f0" } }];
  if (config.basemap) {
    sources.basemap = {
      type: "raster",
      tiles: [config.basemap.url],
      tileSize: 256,
      attribution: config.basemap.attribution || "",
    };
    layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  const map = new maplibregl.Map({
    container,
    style: { version: 8, sources, layers },
    center: [117.48, 0.13],
    zoom: 12,
    hash: true,
    attributionControl: { compact: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
  return map;
}

/** Put the version's layers on the map (replacing another version's). */
export function showVersion(map, versionId, symbology) {
  for (const id of ["zones-fill", "zones-line", "zones-picked", ...overlayLayerIds(symbology)]) {
    if (map.getLayer(id)) map.removeLayer(id);
  }
  for (const id of ["zones", "overlays"]) if (map.getSource(id)) map.removeSource(id);
  map.addSource("zones", { type: "vector", url: `v1/tiles/zones_v${versionId}/tilejson.json` });
  map.addSource("overlays", { type: "vector", url: `v1/tiles/overlays_v${versionId}/tilejson.json` });
  const before = map.getLayer("compare-fill") ? "compare-fill" : undefined; // under the work layers
  map.addLayer(
    {
      id: "zones-fill",
      type: "fill",
      source: "zones",
      "source-layer": "zones",
      paint: { "fill-color": familyColour(symbology), "fill-opacity": 0.8 },
    },
    before,
  );
  map.addLayer(
    {
      id: "zones-line",
      type: "line",
      source: "zones",
      "source-layer": "zones",
      paint: { "line-color": "#666", "line-width": 0.5 },
    },
    before,
  );
  map.addLayer(
    {
      id: "zones-picked",
      type: "line",
      source: "zones",
      "source-layer": "zones",
      filter: ["==", ["get", "zone_id"], "\u0000"],
      paint: { "line-color": "#000", "line-width": 3 },
    },
    before,
  );
  const known = overlayKinds(symbology);
  for (const style of [...symbology.overlays, symbology.other_overlay]) {
    const id = overlayLayerId(style.code);
    const filter = style.code
      ? ["==", ["get", "kind"], style.code]
      : ["!", ["in", ["get", "kind"], ["literal", known]]];
    map.addLayer(
      {
        id,
        type: "line",
        source: "overlays",
        "source-layer": "overlays",
        filter,
        layout: { visibility: "none" },
        paint: { "line-color": style.colour, "line-width": 2, "line-dasharray": [3, 2] },
      },
      before,
    );
  }
}

export function overlayLayerId(kind) {
  return `overlay-${kind || "other"}`;
}

function overlayLayerIds(symbology) {
  return [...symbology.overlays, symbology.other_overlay].map((o) => overlayLayerId(o.code));
}

export function setOverlayVisible(map, kind, visible) {
  const id = overlayLayerId(kind);
  if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
}

/** Outline the zones with these ids (the one clicked, or those a parcel lies in). */
export function pickZones(map, zoneIds) {
  if (!map.getLayer("zones-picked")) return;
  map.setFilter("zones-picked", ["in", ["get", "zone_id"], ["literal", zoneIds]]);
}

/** The layers of the check: parcels, the pieces a check found, the changes of a comparison. */
export function addWorkLayers(map, symbology) {
  map.addSource("parcels", { type: "geojson", data: EMPTY });
  map.addSource("pieces", { type: "geojson", data: EMPTY });
  map.addSource("compare", { type: "geojson", data: EMPTY });
  map.addLayer({
    id: "compare-fill",
    type: "fill",
    source: "compare",
    paint: { "fill-color": familyColour(symbology, "to_family"), "fill-opacity": 0.9 },
  });
  map.addLayer({
    id: "compare-line",
    type: "line",
    source: "compare",
    paint: { "line-color": "#d00000", "line-width": 2 },
  });
  map.addLayer({
    id: "parcels-fill",
    type: "fill",
    source: "parcels",
    paint: { "fill-color": "#1565c0", "fill-opacity": ["case", ["get", "selected"], 0.25, 0.08] },
  });
  map.addLayer({
    id: "parcels-line",
    type: "line",
    source: "parcels",
    paint: { "line-color": "#0d47a1", "line-width": ["case", ["get", "selected"], 3, 1] },
  });
  map.addLayer({
    id: "pieces-fill",
    type: "fill",
    source: "pieces",
    filter: ["==", ["get", "layer"], "zone"],
    paint: { "fill-color": familyColour(symbology), "fill-opacity": 1 },
  });
  map.addLayer({
    id: "pieces-line",
    type: "line",
    source: "pieces",
    filter: ["==", ["get", "layer"], "zone"],
    paint: { "line-color": "#000", "line-width": 2.5 },
  });
  map.addLayer({
    id: "pieces-overlay",
    type: "line",
    source: "pieces",
    filter: ["==", ["get", "layer"], "overlay"],
    paint: { "line-color": "#d00000", "line-width": 3, "line-dasharray": [2, 1] },
  });
}

export function setData(map, source, data) {
  map.getSource(source)?.setData(data || EMPTY);
}

/** Fit the map to a GeoJSON object's extent. */
export function fitTo(map, data) {
  const box = new maplibregl.LngLatBounds();
  const visit = (c) => (typeof c[0] === "number" ? box.extend(c) : c.forEach(visit));
  for (const feature of data.features || [data]) if (feature.geometry) visit(feature.geometry.coordinates);
  if (!box.isEmpty()) map.fitBounds(box, { padding: 120, maxZoom: 17, duration: 0 });
}
