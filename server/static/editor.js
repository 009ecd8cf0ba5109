// The query editor: YASGUI (served from this server, no CDN) pointed at our endpoint.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("editor-config").textContent);
  const prologue = Object.entries(config.prefixes)
    .map(([prefix, iri]) => `PREFIX ${prefix}: <${iri}>`)
    .join("\n");
  const firstQuery = config.examples.length ? config.examples[0].query : "SELECT * WHERE { ?s ?p ?o } LIMIT 10\n";
  Yasgui.Yasqe.defaults.value = firstQuery;
  // The prefix, property and class autocompleters call prefix.cc and LOV on
  // the public web; this editor talks to its own server only.
  Yasgui.Yasqe.defaults.autocompleters = ["variables"];
  const yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: config.endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    persistenceId: null,
    endpointCatalogueOptions: { getData: () => [{ endpoint: config.endpoint }] },
  });
  window.heritageHubsEditor = yasgui;
  const tab = yasgui.getTab();
  tab.setQuery(firstQuery);
  document.querySelectorAll("button.example").forEach((button) => {
    button.addEventListener("click", () => {
      const example = config.examples[Number(button.dataset.index)];
      yasgui.getTab().setQuery(example.query);
    });
  });
  window.heritageHubsPrologue = prologue;
  // Accessibility of YASGUI's own markup (axe-core, in the suite): its inputs get names, and the add-tab button
  // leaves the tab list (a tablist may hold only tabs).
  const label = () => {
    document.querySelectorAll("#yasgui input.autocomplete:not([aria-label])").forEach((input) => input.setAttribute("aria-label", "SPARQL endpoint"));
    document.querySelectorAll("#yasgui .CodeMirror textarea:not([aria-label])").forEach((area) => area.setAttribute("aria-label", "SPARQL query"));
    // A region that scrolls (the query on a narrow screen) is reachable with the keyboard.
    document.querySelectorAll("#yasgui .CodeMirror-scroll:not([tabindex=\"0\"])").forEach((region) => region.setAttribute("tabindex", "0"));
    document.querySelectorAll("#yasgui .tabsList > div > button.addTab").forEach((button) => {
      const holder = button.parentElement;
      holder.parentElement.after(holder);
    });
  };
  label();
  new MutationObserver(label).observe(document.getElementById("yasgui"), { childList: true, subtree: true });
})();
