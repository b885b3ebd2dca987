// Placeholder for `ng serve`; in the image the entrypoint serves a config.js written from SERVER_URI instead.
window.TODO_CONFIG = { serverUri: "127.0.0.1:8080" };
