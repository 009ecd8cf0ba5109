// A place map for resource pages: Leaflet served locally, tiles from the configured URL (none if empty).
(function () {
  "use strict";
  const element = document.getElementById("map");
  if (!element || typeof L === "undefined") return;
  const point = [Number(element.dataset.lat), Number(element.dataset.long)];
  const map = L.map(element, { scrollWheelZoom: false }).setView(point, 12);
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: "&copy; OpenStreetMap contributors" }).addTo(map);
  }
  L.circleMarker(point, { radius: 8 }).addTo(map).bindTooltip(element.dataset.label);
})();
