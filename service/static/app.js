// The Footnote chat page. Everything a document says is put on the page as text (textContent, text
// nodes), never parsed as HTML, so a document holding markup shows that markup and runs nothing.
"use strict";

(() => {
  const STORE_KEY = "footnote.conversation.v1";
  const { $, KEY_KEY, el, fetchOk, request } = window.footnote; // common.js

  const log = $("conversation");
  const form = $("ask");
  // The server's history limits, written into the form by the server that serves the page
  // (FOOTNOTE_MAX_HISTORY_TURNS, FOOTNOTE_MAX_TURN_CHARS, FOOTNOTE_MAX_HISTORY_CHARS).
  const limits = {
    turns: Number(form.dataset.maxHistoryTurns),
    turnChars: Number(form.dataset.maxTurnChars),
    historyChars: Number(form.dataset.maxHistoryChars),
  };
  const input = $("question");
  const send = $("send");
  const searching = $("searching");
  const panel = $("panel");
  const panelTitle = $("panel-title");
  const detail = $("footnote-detail");
  const dialog = $("document-dialog");
  const pageDialog = $("page-dialog");
  const keyInput = $("api-key");

  /** turns: [{question, answer: {answer, grounded, query, footnotes}}] */
  let turns = load();
  let busy = false;
  const documents = new Map(); // doc_id -> Promise<document>
  // documents.js says when an upload or delete changed the index: a cached document may be stale.
  document.addEventListener("footnote:documents-changed", () => documents.clear());

  // -- DOM helpers: text only ------------------------------------------------------------------

  function safeUrl(raw) {
    try {
      const url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function externalLink(url, text) {
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text || url);
  }

  // "p. 7", or "pp. 7–8" for a quote across a page break; "" without pages (not a PDF).
  function pageLabel(note) {
    const pages = note.pages || (note.page ? [note.page] : []);
    if (!pages.length) return "";
    return pages.length === 1 ? `p. ${pages[0]}` : `pp. ${pages[0]}–${pages[pages.length - 1]}`;
  }

  // "Title › Section, p. 7": where a footnote's quote stands.
  function wherePath(note) {
    const label = pageLabel(note);
    return [note.title, ...(note.section || [])].join(" › ") + (label ? `, ${label}` : "");
  }

  // -- storage ---------------------------------------------------------------------------------

  function load() {
    try {
      const data = JSON.parse(localStorage.getItem(STORE_KEY) || "[]");
      const valid = (t) => t && typeof t.question === "string" && t.answer && Array.isArray(t.answer.footnotes);
      return Array.isArray(data) ? data.filter(valid) : [];
    } catch {
      return [];
    }
  }

  function save() {
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(turns));
    } catch {
      /* storage full or disabled: the conversation still works, it just won't survive a reload */
    }
  }

  // Every chat call sends JSON.
  function api(path, options) {
    return request(path, { ...options, headers: { "Content-Type": "application/json" } });
  }

  // -- rendering the conversation --------------------------------------------------------------

  function renderAnswerText(text, footnotes, index) {
    const known = new Set(footnotes.map((n) => n.n));
    return text.split(/\n{2,}/).filter((p) => p.trim()).map((paragraph) => {
      const p = el("p", { class: "quote" });
      let last = 0;
      for (const match of paragraph.matchAll(/\[(\d+)\]/g)) {
        const n = Number(match[1]);
        if (!known.has(n)) continue;
        p.append(paragraph.slice(last, match.index));
        p.append(el("sup", {}, marker(index, n)));
        last = match.index + match[0].length;
      }
      p.append(paragraph.slice(last));
      return p;
    });
  }

  function marker(index, n) {
    return el("a", {
      href: `#fn-${index}-${n}`,
      class: "marker",
      "aria-label": `footnote ${n}`,
      "data-turn": index,
      "data-n": n,
      onclick: (event) => {
        event.preventDefault();
        openFootnote(index, n);
      },
    }, `[${n}]`);
  }

  function renderTurn(turn, index) {
    const article = el("article", { class: "turn", "data-turn": index });
    article.append(el("div", { class: "question" }, el("span", { class: "who" }, "You"), el("p", {}, turn.question)));
    const reply = el("div", { class: "reply" });
    article.append(reply);
    if (turn.answer) fillReply(reply, turn, index);
    return article;
  }

  function fillReply(reply, turn, index) {
    reply.replaceChildren();
    const answer = turn.answer;
    reply.append(el("span", { class: "who" }, "Footnote"));
    if (answer.query && normalize(answer.query) !== normalize(turn.question)) {
      reply.append(el("p", { class: "rewritten" }, "Searched for: ", el("q", { class: "query" }, answer.query)));
    }
    if (!answer.grounded || !answer.footnotes.length) {
      reply.append(el("p", { class: "not-found" }, answer.answer));
      return;
    }
    let text = answer.answer;
    if (answer.uncertain) {
      // An uncertain answer's first paragraph is the server's warning: shown as a note above the quotes.
      const end = text.indexOf("\n\n");
      reply.append(el("p", { class: "uncertain", role: "note" }, end < 0 ? text : text.slice(0, end)));
      text = end < 0 ? "" : text.slice(end + 2);
    }
    reply.append(...renderAnswerText(text, answer.footnotes, index));
    const sources = el("ol", { class: "sources", "aria-label": "Sources" });
    for (const note of answer.footnotes) {
      sources.append(el("li", { id: `fn-${index}-${note.n}`, value: note.n },
        el("button", {
          type: "button",
          class: "source",
          onclick: () => openFootnote(index, note.n),
        }, wherePath(note))));
    }
    reply.append(sources);
  }

  function normalize(text) {
    return text.trim().replace(/\s+/g, " ").replace(/[?.!\s]+$/, "").toLowerCase();
  }

  function renderAll() {
    log.replaceChildren();
    if (!turns.length) {
      log.append(el("p", { id: "empty", class: "empty" },
        "Ask a question about the documents. Every answer is a verbatim quote; open a footnote to see its " +
        "source and where it stands in the document."));
    }
    turns.forEach((turn, index) => log.append(renderTurn(turn, index)));
  }

  // -- asking ----------------------------------------------------------------------------------

  // POST /answer refuses a history over a limit, so the page cuts each turn to the per-turn limit and sends the
  // latest turns that fit the others: the rule service.limits.latest_that_fit applies to OpenAI-style chats.
  function historyFor(previous) {
    const history = previous.flatMap((turn) => [
      { role: "user", content: turn.question.slice(0, limits.turnChars) },
      { role: "assistant", content: turn.answer.answer.slice(0, limits.turnChars) },
    ]);
    const kept = [];
    let total = 0;
    for (const turn of history.reverse()) {
      if (kept.length >= limits.turns || total + turn.content.length > limits.historyChars) break;
      kept.push(turn);
      total += turn.content.length;
    }
    return kept.reverse();
  }

  function setBusy(on) {
    busy = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    searching.hidden = !on;
    send.disabled = on;
  }

  async function ask(question) {
    const empty = $("empty");
    if (empty) empty.remove();
    const index = turns.length;
    const turn = { question, answer: null };
    const article = renderTurn(turn, index);
    log.append(article);
    article.scrollIntoView({ block: "end" });
    setBusy(true);
    try {
      const body = await api("/answer", {
        method: "POST",
        body: JSON.stringify({ question, history: historyFor(turns) }),
      });
      turn.answer = { answer: body.answer, grounded: body.grounded, query: body.query, footnotes: body.footnotes,
                      uncertain: Boolean(body.uncertain), confidence: body.confidence };
      turns.push(turn);
      save();
      fillReply(article.querySelector(".reply"), turn, index);
    } catch (error) {
      article.classList.add("failed");
      const reply = article.querySelector(".reply");
      reply.replaceChildren(el("p", { class: "error", role: "alert" }, `Could not answer: ${error.message}`));
      if (error.status === 401) {
        $("settings").open = true;
        reply.append(el("p", { class: "hint" }, "Enter the server's API key under “API key”, then ask again."));
        keyInput.focus();
      }
    } finally {
      setBusy(false);
      article.scrollIntoView({ block: "end" });
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question);
  });

  $("new-conversation").addEventListener("click", () => {
    turns = [];
    save();
    closePanel();
    renderAll();
    input.focus();
  });

  keyInput.value = localStorage.getItem(KEY_KEY) || "";
  keyInput.addEventListener("input", () => localStorage.setItem(KEY_KEY, keyInput.value.trim()));
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault(); // Enter in the key field: done, back to the question
    $("settings").open = false;
    input.focus();
  });

  // -- a footnote: its quote, where it stands, the source the document cites ------------------

  function citationItem(citation) {
    const item = el("li", { class: "citation" });
    if (citation.marker) item.append(el("span", { class: "cite-marker" }, citation.marker), " ");
    let text = citation.text || "";
    const urls = (citation.urls || []).map((u) => [u, safeUrl(u)]).filter(([, safe]) => safe);
    // Link each URL where the citation text spells it; list the ones it does not after the text.
    const parts = [];
    const unplaced = [];
    for (const [raw, safe] of urls) {
      const at = text.indexOf(raw);
      if (at < 0) {
        unplaced.push(safe);
        continue;
      }
      parts.push(text.slice(0, at), externalLink(safe, raw));
      text = text.slice(at + raw.length);
    }
    parts.push(text);
    item.append(...parts.filter((p) => p !== ""));
    for (const url of unplaced) item.append(" ", externalLink(url));
    return item;
  }

  function openFootnote(index, n) {
    const turn = turns[index];
    const note = turn && turn.answer.footnotes.find((f) => f.n === n);
    if (!note) return;
    panel.hidden = false;
    panelTitle.textContent = `Footnote ${n}`;
    const children = [
      el("blockquote", { class: "fn-quote" }, note.quote),
      el("p", { class: "where" }, el("span", { class: "doc-title" }, note.title),
        ...(note.section || []).map((s) => ` › ${s}`),
        ...(pageLabel(note) ? [", ", el("span", { class: "page-label" }, pageLabel(note))] : []),
        ...(note.ocr ? [" (OCR)"] : [])),
    ];
    if (note.citations && note.citations.length) {
      children.push(el("h3", {}, "Cited source"), el("ul", { class: "citations" }, note.citations.map(citationItem)));
    } else {
      children.push(el("p", { class: "hint" }, "The document cites no source for this passage."));
    }
    // A PDF quote with a known page opens on the rendered page; every quote opens in the document's text.
    const actions = el("div", { class: "fn-actions" });
    if (note.page) {
      actions.append(el("button", {
        type: "button",
        class: "show-on-page",
        onclick: () => showOnPage(note),
      }, "Show on page"));
    }
    actions.append(el("button", {
      type: "button",
      class: note.page ? "show-in-document secondary" : "show-in-document",
      onclick: () => showInDocument(note),
    }, "Show in document"));
    children.push(actions);
    detail.replaceChildren(...children);
    for (const m of log.querySelectorAll(".marker.active")) m.classList.remove("active");
    const active = log.querySelector(`.marker[data-turn="${index}"][data-n="${n}"]`);
    if (active) active.classList.add("active");
    panelTitle.focus({ preventScroll: true });
    panel.scrollIntoView({ block: "nearest" });
  }

  function closePanel() {
    panel.hidden = true;
    detail.replaceChildren();
    for (const m of log.querySelectorAll(".marker.active")) m.classList.remove("active");
  }

  $("close-panel").addEventListener("click", () => {
    const active = log.querySelector(".marker.active");
    closePanel();
    (active || input).focus();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden && !dialog.open && !pageDialog.open) {
      const active = log.querySelector(".marker.active");
      closePanel();
      (active || input).focus();
    }
  });

  // -- the document, with the quote highlighted -----------------------------------------------

  function fetchDocument(docId) {
    if (!documents.has(docId)) {
      const pending = api(`/documents/${encodeURIComponent(docId)}`, { method: "GET" });
      pending.catch(() => documents.delete(docId));
      documents.set(docId, pending);
    }
    return documents.get(docId);
  }

  async function showInDocument(note) {
    const title = $("document-title");
    const where = $("document-where");
    const body = $("document-text");
    title.textContent = note.title;
    where.textContent = [(note.section || []).join(" › "), pageLabel(note)].filter(Boolean).join(", ");
    body.replaceChildren(el("p", { class: "hint" }, "Loading the document…"));
    body.setAttribute("aria-busy", "true");
    if (!dialog.open) dialog.showModal();
    try {
      const doc = await fetchDocument(note.doc_id);
      const text = doc.text;
      const mark = el("mark", { id: "quote-mark" }, text.slice(note.start, note.end));
      // The nearest heading's anchor (the footnote's `anchor`) stands where its section starts.
      const section = note.anchor && (doc.sections || []).find((s) => s.start <= note.start && note.start < s.end
        && JSON.stringify(s.path) === JSON.stringify(note.section || []));
      if (section) {
        const anchor = el("span", { id: `anchor-${note.anchor}`, class: "heading-anchor" });
        body.replaceChildren(text.slice(0, section.start), anchor, text.slice(section.start, note.start), mark,
          text.slice(note.end));
        anchor.scrollIntoView({ block: "start" });
        if (!within(mark, body)) mark.scrollIntoView({ block: "center" });
      } else {
        body.replaceChildren(text.slice(0, note.start), mark, text.slice(note.end));
        mark.scrollIntoView({ block: "center" });
      }
    } catch (error) {
      body.replaceChildren(el("p", { class: "error", role: "alert" }, `Could not load the document: ${error.message}`));
    } finally {
      body.setAttribute("aria-busy", "false");
    }
  }

  function within(node, box) {
    const a = node.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    return a.top >= b.top && a.bottom <= b.bottom;
  }

  $("close-document").addEventListener("click", () => dialog.close());

  // -- the PDF page, rendered by the server with the quote highlighted ----------------------------

  const pageView = $("page-view");
  const pageImage = $("page-image");
  const pageMark = $("page-mark");
  const pageMessage = $("page-message");
  const pagePrev = $("page-prev");
  const pageNext = $("page-next");
  const shown = { note: null, n: 0, count: 0, url: null, token: 0 };

  function showOnPage(note) {
    shown.note = note;
    shown.count = 0;
    $("page-title").textContent = note.title;
    $("page-where").textContent = (note.section || []).join(" › ");
    if (!pageDialog.open) pageDialog.showModal();
    loadPage(note.page);
  }

  function updatePageNav() {
    const { n, count } = shown;
    $("page-number").textContent = count ? `Page ${n} of ${count}` : `Page ${n}`;
    const focused = document.activeElement;
    pagePrev.disabled = n <= 1;
    pageNext.disabled = !count || n >= count;
    // A button that just became disabled loses focus: hand it to the other one, so the keyboard stays here.
    if (focused === pagePrev && pagePrev.disabled && !pageNext.disabled) pageNext.focus();
    else if (focused === pageNext && pageNext.disabled && !pagePrev.disabled) pagePrev.focus();
  }

  // The image comes through fetch (it carries the API key when one is set) and shows as a blob: URL.
  async function loadPage(n) {
    const note = shown.note;
    const token = ++shown.token;
    shown.n = n;
    updatePageNav();
    pageMessage.removeAttribute("role");
    pageMessage.textContent = `Loading page ${n}…`;
    pageView.setAttribute("aria-busy", "true");
    try {
      const query = new URLSearchParams({ start: note.start, end: note.end });
      const response = await fetchOk(`/documents/${encodeURIComponent(note.doc_id)}/pages/${n}.png?${query}`);
      const blob = await response.blob();
      if (token !== shown.token) return; // another page was asked for meanwhile
      shown.count = Number(response.headers.get("X-Page-Count")) || 0;
      const box = (response.headers.get("X-Highlight") || "").split(",").filter(Boolean).map(Number);
      const url = URL.createObjectURL(blob);
      pageImage.src = url;
      await pageImage.decode();
      if (shown.url) URL.revokeObjectURL(shown.url);
      shown.url = url;
      pageImage.alt = `Page ${n} of ${note.title}` + (box.length === 4 ? ", the quote highlighted" : "");
      pageImage.dataset.page = String(n);
      pageImage.hidden = false;
      pageMessage.textContent = "";
      const w = pageImage.naturalWidth;
      const h = pageImage.naturalHeight;
      if (box.length === 4 && w && h) {
        const [x0, y0, x1, y1] = box;
        Object.assign(pageMark.style, { left: `${(100 * x0) / w}%`, top: `${(100 * y0) / h}%`,
                                        width: `${(100 * (x1 - x0)) / w}%`, height: `${(100 * (y1 - y0)) / h}%` });
        pageMark.hidden = false;
        pageMark.scrollIntoView({ block: "center", inline: "nearest" });
      } else {
        pageMark.hidden = true;
        pageView.scrollTop = 0;
      }
    } catch (error) {
      if (token !== shown.token) return;
      pageImage.hidden = true;
      pageMark.hidden = true;
      pageMessage.setAttribute("role", "alert");
      pageMessage.textContent = `Could not show page ${n}: ${error.message}`;
    } finally {
      if (token === shown.token) {
        pageView.setAttribute("aria-busy", "false");
        updatePageNav();
      }
    }
  }

  pagePrev.addEventListener("click", () => { if (shown.n > 1) loadPage(shown.n - 1); });
  pageNext.addEventListener("click", () => { if (shown.count && shown.n < shown.count) loadPage(shown.n + 1); });
  // Left and right arrows turn the page while it is open (focus may be on the image, a button or the dialog).
  document.addEventListener("keydown", (event) => {
    if (!pageDialog.open || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowLeft" && !pagePrev.disabled) pagePrev.click();
    else if (event.key === "ArrowRight" && !pageNext.disabled) pageNext.click();
  });
  $("close-page").addEventListener("click", () => pageDialog.close());
  pageDialog.addEventListener("click", (event) => {
    if (event.target === pageDialog) pageDialog.close(); // a click on the backdrop
  });
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });

  renderAll();
  if (turns.length) log.lastElementChild.scrollIntoView({ block: "end" });
  input.focus();
})();
