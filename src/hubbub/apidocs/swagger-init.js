// hubbub's Swagger UI set-up: a file of its own, so the page needs no inline script.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // No badge from an outside validator: the page loads nothing from another origin.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
