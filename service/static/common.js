// Shared by app.js (the chat) and documents.js (the documents panel), and loaded before both: building the
// page from server text (as text only, never as HTML) and calling the API with the key the user entered.
"use strict";

window.footnote = (() => {
  const KEY_KEY = "footnote.apiKey"; // localStorage entry holding the API key typed under "API key"

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  // One API call: JSON back, the key sent when there is one, and a failure thrown as an Error carrying the
  // server's `detail` and the status. `options.headers` adds to these (the chat sends JSON; an upload's
  // multipart body lets the browser set its own Content-Type).
  async function request(path, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    const key = (localStorage.getItem(KEY_KEY) || "").trim();
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch(path, { ...options, headers });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const error = new Error((body && body.detail) || `the server answered ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  // A call whose answer is not JSON (a page image): the Response, with the key sent when there is one; a
  // failure is thrown as `request` throws it, with the server's `detail` and the status.
  async function fetchOk(path, options = {}) {
    const headers = { ...(options.headers || {}) };
    const key = (localStorage.getItem(KEY_KEY) || "").trim();
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch(path, { ...options, headers });
    if (!response.ok) {
      let body = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      const error = new Error((body && body.detail) || `the server answered ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return response;
  }

  return Object.freeze({ $, KEY_KEY, el, fetchOk, request });
})();
