// The documents panel: the list with counts, uploads (file input and drag-and-drop) with a progress bar
// per job, skipped files with their reasons, and deleting an uploaded document after a confirmation.
// Kept apart from app.js (the chat) on purpose; like it, it puts server text on the page only as text.
"use strict";

(() => {
  const { $, el, request } = window.footnote; // common.js
  const POLL_MS = 400;
  const ACTIVE = new Set(["queued", "parsing", "embedding"]);

  const library = $("library");
  const count = $("library-count");
  const summary = $("library-summary");
  const input = $("add-documents");
  const jobList = $("jobs");
  const docList = $("document-list");
  const message = $("library-message");
  const confirmDialog = $("confirm-delete");
  const overlay = $("drop-overlay");

  const watched = new Map(); // job id -> <li>
  let pendingDelete = null;

  function say(text, isError) {
    message.replaceChildren(text ? el("p", { class: isError ? "error" : "hint", role: isError ? "alert" : null }, text) : "");
  }

  function failed(error) {
    say(error.status === 401 ? `${error.message}. Enter the key under “API key”.` : error.message, true);
    if (error.status === 401) $("settings").open = true;
  }

  const plural = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

  // -- the list ------------------------------------------------------------------------------------

  async function refreshDocuments() {
    let docs;
    try {
      docs = await request("/documents", { method: "GET" });
    } catch (error) {
      summary.textContent = `Could not list the documents: ${error.message}`;
      return;
    }
    const passages = docs.reduce((sum, d) => sum + d.passages, 0);
    const footnotes = docs.reduce((sum, d) => sum + d.footnotes, 0);
    const uploads = docs.filter((d) => d.source === "upload").length;
    count.textContent = String(docs.length);
    summary.textContent = `${plural(docs.length, "document")} (${uploads} uploaded) · ` +
      `${plural(passages, "passage")} · ${plural(footnotes, "footnote")}`;
    docList.replaceChildren(...docs.map(documentItem));
  }

  function documentItem(doc) {
    const added = doc.added ? new Date(doc.added).toLocaleString() : "";
    const meta = [doc.source === "upload" ? "uploaded" : "corpus", plural(doc.passages, "passage"),
      plural(doc.footnotes, "footnote"), added && `added ${added}`].filter(Boolean).join(" · ");
    const item = el("li", { class: "document", "data-doc": doc.doc_id },
      el("span", { class: "doc-name" }, doc.title), el("span", { class: "doc-meta" }, `${doc.path} · ${meta}`));
    if (doc.source === "upload") {
      item.append(el("button", {
        type: "button", class: "secondary delete", "aria-label": `Delete ${doc.title}`,
        onclick: () => askDelete(doc),
      }, "Delete"));
    }
    return item;
  }

  // -- deleting ------------------------------------------------------------------------------------

  function askDelete(doc) {
    pendingDelete = doc;
    confirmDialog.returnValue = ""; // Escape closes without setting it: never reuse the last answer
    $("confirm-text").textContent = `Delete “${doc.title}” (${doc.path})? Questions will no longer be ` +
      "answered from it.";
    confirmDialog.showModal();
    $("confirm-cancel").focus();
  }

  $("confirm-cancel").addEventListener("click", () => confirmDialog.close("cancel"));
  $("confirm-ok").addEventListener("click", () => confirmDialog.close("delete"));
  confirmDialog.addEventListener("close", async () => {
    const doc = pendingDelete;
    pendingDelete = null;
    if (!doc || confirmDialog.returnValue !== "delete") return;
    try {
      const job = await request(`/documents/${encodeURIComponent(doc.doc_id)}`, { method: "DELETE" });
      say("");
      watch(job, `Deleting ${doc.title}`);
    } catch (error) {
      failed(error);
    }
  });

  // -- uploading -----------------------------------------------------------------------------------

  async function upload(files) {
    if (!files.length) return;
    library.open = true;
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const names = files.map((f) => f.name).join(", ");
    say(`Uploading ${names}…`);
    try {
      const job = await request("/documents", { method: "POST", body: form });
      say("");
      watch(job, `Adding ${names}`);
    } catch (error) {
      failed(error);
    }
  }

  input.addEventListener("change", () => {
    const files = [...input.files];
    input.value = "";
    upload(files);
  });

  // Drag and drop anywhere on the page.
  let depth = 0;
  const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    depth += 1;
    overlay.hidden = false;
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  document.addEventListener("dragover", (event) => {
    if (hasFiles(event)) event.preventDefault();
  });
  document.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    overlay.hidden = true;
    upload([...event.dataTransfer.files]);
  });

  // -- jobs and their progress ---------------------------------------------------------------------

  function percent(job) {
    if (job.state === "done" || job.state === "failed") return 100;
    if (job.state === "embedding") return 10 + Math.floor(89 * job.passages_done / Math.max(1, job.passages_total));
    if (job.state === "parsing") return Math.floor(10 * job.files_done / Math.max(1, job.files_total));
    return 0;
  }

  function stateText(job) {
    switch (job.state) {
      case "queued": return "waiting for the ingest before it";
      case "parsing": return job.files_total ? `reading files: ${job.files_done} of ${job.files_total}` : "reading files";
      case "embedding": return `embedding: ${job.passages_done} of ${job.passages_total} passages`;
      case "done": return "done";
      default: return `failed: ${job.error || "see the server log"}`;
    }
  }

  function fileLine(file) {
    let text = file.name;
    if (file.status === "ingested") text += ` — added as ${file.doc_id} (${plural(file.passages || 0, "passage")})`;
    else if (file.status === "removed") text += " — deleted";
    else if (file.status === "skipped") text += ` — skipped: ${file.reason}`;
    return el("li", { class: `file ${file.status}` }, text);
  }

  function renderJob(item, job, title) {
    const value = percent(job);
    const label = item.dataset.title || title;
    item.dataset.title = label;
    item.className = `job ${job.state}`;
    item.replaceChildren(
      el("span", { class: "job-title", id: `job-${job.id}-title` }, label),
      el("div", {
        class: "progress", role: "progressbar", "aria-labelledby": `job-${job.id}-title`,
        "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": value, "aria-valuetext": stateText(job),
      }, el("span", { class: "bar-fill", style: null, "data-value": value })),
      el("span", { class: "job-state" }, stateText(job)),
      el("ul", { class: "files" }, job.files.map(fileLine)),
    );
    // The fill width is set as a property: the page's CSP forbids inline style attributes.
    item.querySelector(".bar-fill").style.width = `${value}%`;
  }

  function watch(job, title) {
    let item = watched.get(job.id);
    if (!item) {
      item = el("li", {});
      watched.set(job.id, item);
      jobList.prepend(item);
    }
    renderJob(item, job, title);
    if (ACTIVE.has(job.state)) {
      setTimeout(() => poll(job.id), POLL_MS);
    } else {
      finished(job);
    }
  }

  async function poll(id) {
    try {
      watch(await request(`/jobs/${encodeURIComponent(id)}`, { method: "GET" }));
    } catch (error) {
      failed(error);
    }
  }

  function finished(job) {
    if (job.state === "done") document.dispatchEvent(new CustomEvent("footnote:documents-changed"));
    refreshDocuments();
  }

  async function resumeJobs() {
    try {
      const jobs = await request("/jobs", { method: "GET" });
      for (const job of jobs.reverse()) {
        if (ACTIVE.has(job.state)) watch(job, job.kind === "delete" ? `Deleting ${job.files[0].name}` :
          `Adding ${job.files.map((f) => f.name).join(", ")}`);
      }
    } catch {
      /* no key yet, or no jobs: nothing to resume */
    }
  }

  refreshDocuments();
  resumeJobs();
})();
