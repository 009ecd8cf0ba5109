// Maps: Leaflet served locally, tiles from the configured URL (none if empty). A resource page's map shows one point
// (data-lat, data-long); the map of places shows every point of the list below it (data-points: [lat, long, label, href]).
// Underneath, Natural Earth's country outlines (served from here): without tiles the points are still drawn on them,
// and the page says so.
(function () {
  "use strict";
  const element = document.getElementById("map");
  if (!element || typeof L === "undefined") return;
  const map = L.map(element, { scrollWheelZoom: false });
  map.createPane("outline").style.zIndex = 150;  // below the tiles (200): seen only where no tile is drawn
  if (element.dataset.outline && typeof topojson !== "undefined") {
    fetch(element.dataset.outline).then((response) => response.json()).then((world) => {
      L.geoJSON(topojson.feature(world, world.objects.countries), {
        pane: "outline", interactive: false, style: { color: "#9aa5b1", weight: 0.8, fillColor: "#f4f1ea", fillOpacity: 1 },
      }).addTo(map);
    }).catch(() => {});
  }
  const missing = document.querySelector(".map-note .tiles-missing");
  const sayTilesMissing = () => { if (missing) missing.hidden = false; };
  if (element.dataset.tiles) {
    const tiles = L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: "&copy; OpenStreetMap contributors" }).addTo(map);
    tiles.once("tileerror", sayTilesMissing);  // offline, or the tile server refuses: say so instead of a grey box
  } else {
    sayTilesMissing();
  }
  if (element.dataset.points) {
    const points = JSON.parse(element.dataset.points);
    const markers = points.map(([lat, long, label, href]) => {
      const marker = L.circleMarker([lat, long], { radius: 6 }).bindTooltip(label);
      marker.on("click", () => { window.location.href = href; });
      return marker;
    });
    const group = L.featureGroup(markers).addTo(map);
    if (markers.length) map.fitBounds(group.getBounds().pad(0.1), { maxZoom: 12 });
  } else {
    const point = [Number(element.dataset.lat), Number(element.dataset.long)];
    map.setView(point, 12);
    L.circleMarker(point, { radius: 8 }).addTo(map).bindTooltip(element.dataset.label);
  }
})();
