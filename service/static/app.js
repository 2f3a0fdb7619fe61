// The Footnote chat page. Everything a document says is put on the page as text (textContent, text
// nodes), never parsed as HTML, so a document holding markup shows that markup and runs nothing.
"use strict";

(() => {
  const STORE_KEY = "footnote.conversation.v1";
  const { $, KEY_KEY, el, request } = window.footnote; // common.js

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

  function wherePath(note) {
    return [note.title, ...(note.section || [])].join(" › ");
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
        ...(note.ocr ? [" (OCR)"] : [])),
    ];
    if (note.citations && note.citations.length) {
      children.push(el("h3", {}, "Cited source"), el("ul", { class: "citations" }, note.citations.map(citationItem)));
    } else {
      children.push(el("p", { class: "hint" }, "The document cites no source for this passage."));
    }
    children.push(el("button", {
      type: "button",
      class: "show-in-document",
      onclick: () => showInDocument(note),
    }, "Show in document"));
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
    if (event.key === "Escape" && !panel.hidden && !dialog.open) {
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
    where.textContent = (note.section || []).join(" › ");
    body.replaceChildren(el("p", { class: "hint" }, "Loading the document…"));
    body.setAttribute("aria-busy", "true");
    if (!dialog.open) dialog.showModal();
    try {
      const doc = await fetchDocument(note.doc_id);
      const text = doc.text;
      const mark = el("mark", { id: "quote-mark" }, text.slice(note.start, note.end));
      body.replaceChildren(text.slice(0, note.start), mark, text.slice(note.end));
      mark.scrollIntoView({ block: "center" });
    } catch (error) {
      body.replaceChildren(el("p", { class: "error", role: "alert" }, `Could not load the document: ${error.message}`));
    } finally {
      body.setAttribute("aria-busy", "false");
    }
  }

  $("close-document").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });

  renderAll();
  if (turns.length) log.lastElementChild.scrollIntoView({ block: "end" });
  input.focus();
})();
