// Starts Swagger UI on /docs with this server's schema. Swagger UI's own files are
// served from the installed swagger-ui-bundle-v2 package (/docs-assets/): no CDN.
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    tryItOutEnabled: true
  });
});
