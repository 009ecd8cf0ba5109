// A place map for resource pages: Leaflet served locally, tiles from the configured URL (none if empty).
(function () {
  "use strict";
  const element = document.getElementById("map");
  if (!element || typeof L === "undefined") return;
  const point = [Number(element.dataset.lat), Number(element.dataset.long)];
  const map = L.map(element, { scrollWheelZoom: false }).setView(point, 12);
  const missing = document.querySelector(".map-note .tiles-missing");
  const sayTilesMissing = () => { if (missing) missing.hidden = false; };
  if (element.dataset.tiles) {
    const tiles = L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: "&copy; OpenStreetMap contributors" }).addTo(map);
    tiles.once("tileerror", sayTilesMissing);  // offline, or the tile server refuses: say so instead of a grey box
  } else {
    sayTilesMissing();
  }
  L.circleMarker(point, { radius: 8 }).addTo(map).bindTooltip(element.dataset.label);
})();
