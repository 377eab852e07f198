// Renders /api/openapi.json with Swagger UI (served at /api/docs under the dashboard's strict
// Content-Security-Policy: this file instead of an inline script). "Authorize" takes the token
// of POST /api/auth/login for "Try it out".
window.addEventListener('DOMContentLoaded', () => {
  window.ui = window.SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    validatorUrl: null,
  });
});
