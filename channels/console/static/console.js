/*
 * Citybot agent console: sign-in, the queue, the agent's own conversations and one open
 * transcript with a composer. Vanilla JS, no build step, no libraries; loaded from console.html
 * (script-src 'self' is enough: no inline scripts, no inline handlers, no eval).
 *
 * Protocol: docs/handoff.md, "Console protocol". HTTP under /console/api/ (POSTs carry the
 * X-CSRF-Token header), one WebSocket /console/ws that starts with a hello. A dropped socket is
 * reopened with backoff; each open conversation is asked again for the entries after the last one
 * shown, and entries are de-duplicated by id, so nothing is shown twice or missed.
 *
 * Every visible text comes from /console/strings.json (strings.yml). Message text from citizens,
 * the bot and agents is only ever put in the page with textContent.
 */
(function () {
  "use strict";

  var ui = window.CitybotUi;  // ui.js: what the dashboard shares
  var $ = ui.$, pickLang = ui.pickLang, stored = ui.stored, store = ui.store, el = ui.el, clear = ui.clear;
  var LANGS = ui.LANGS, LOCALES = ui.LOCALES, STORE_LANG = ui.STORE_LANG;
  var STORE_FILTER = "citybot.console.filter";   // the queue's languages shown, e.g. "fi,sv"
  var STORE_SOUND = "citybot.console.sound";     // "1": a sound for each new case
  var API = "/console/api/";
  var TYPING_EVERY_MS = 2000;       // at most one "agent is typing" per this long
  var CITIZEN_TYPING_MS = 4000;     // how long "citizen is typing" stays up
  var KEEP_CLAIMED_MS = 10000;      // a fresh claim outlives a queue snapshot taken just before it
  var NOTICE_MS = 20000;
  var BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  var ENTRY_SOURCES = ["citizen", "bot", "agent", "system", "note"];

  // A lang attribute only for something shaped like a language tag (axe checks them).
  function langAttr(code) {
    return /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i.test(String(code || "")) ? String(code) : null;
  }

  var state = {
    lang: pickLang(stored(STORE_LANG)) || pickLang(navigator.language) || "en",
    strings: {},
    me: null,               // {username, name, csrf, languages} from /me or sign-in
    signedIn: false,
    socket: null,
    ready: false,           // hello answered with ready
    attempt: 0,             // reconnect attempts since the last ready
    reconnectTimer: null,
    statusKey: "",
    notice: null,           // {key, params}
    noticeTimer: null,
    queues: [],
    agents: [],
    waiting: [],            // queue items, each with receivedAt (ms) for the waiting clock
    knownWaiting: null,     // ids seen in the previous queue message (null before the first)
    queueNodes: new Map(),  // conversation id -> its <li> in #queue-list
    convs: new Map(),       // conversation id -> conversation (mine)
    released: new Map(),    // conversation id -> when it was released (a late snapshot must not revive it)
    mineOrder: [],
    selected: null,
    claiming: null,
    canned: {},             // language -> promise of [{id, title, text}]
    cannedList: [],
    cannedSnap: null,       // composer text before a canned response was put in it
    endingConv: null,
    idCounter: 0,
    filter: (stored(STORE_FILTER) || LANGS.join(",")).split(",").filter(function (l) { return LANGS.indexOf(l) >= 0; }),
    sound: stored(STORE_SOUND) === "1",
    status: "available",
    closed: [],             // the agent's ended cases (or those found by closedQuery)
    closedQuery: "",
    viewing: null,          // {case, entries}: an ended conversation read in the conversation pane
    contexts: new Map(),    // conversation id -> its context (channel, language, linked, earlier cases)
    audio: null,
  };

  // ---- texts ---------------------------------------------------------------------------------

  function has(key) { return Object.prototype.hasOwnProperty.call(state.strings, key); }

  // What the bot understood, in words ("Puhu ihmisen kanssa"), else the label itself.
  function intentName(intent) {
    return has("intent_" + intent) ? t("intent_" + intent) : intent;
  }

  // A button's or command's payload ("/faq_library", Telegram's /start as "/greet") in words.
  function payloadText(text) {
    var match = /^\/([a-z_]+)/.exec(String(text || ""));
    return match && has("intent_" + match[1]) ? t("pressed", { name: t("intent_" + match[1]) }) : text;
  }

  function t(key, params) { return ui.translate(state.strings, state.lang, key, params); }

  function named(prefix, code) {
    if (code === undefined || code === null || code === "") return "";
    return has(prefix + code) ? t(prefix + code) : String(code);
  }

  function langName(code) { return named("lang_", code); }

  // A queue's own name from ready.queues ({id, name: {fi, sv, en}}), else "Queue: <language>".
  function queueName(code) {
    var queue = state.queues.filter(function (q) { return q && (q === code || q.id === code); })[0];
    var name = queue && queue.name;
    if (name && typeof name === "object" && name[state.lang]) return name[state.lang];
    if (typeof name === "string" && name) return name;
    return code ? t("queue_option", { language: langName(code) }) : "";
  }
  function channelName(code) { return named("channel_", code); }
  function reasonName(code) { return named("reason_", code); }
  function kindName(kind) { return t(kind === "message" ? "kind_message" : "kind_live"); }

  function shortRef(id) { return "#" + String(id).slice(-6); }

  function details(info) {
    return [langName(info.language), channelName(info.channel)].filter(Boolean).join(", ");
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function duration(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) return t("duration_seconds", { s: s });
    if (s < 3600) return t("duration_minutes", { m: Math.floor(s / 60), s: pad(s % 60) });
    return t("duration_hours", { h: Math.floor(s / 3600), m: pad(Math.floor((s % 3600) / 60)) });
  }

  function toDate(at) {
    if (at === undefined || at === null || at === "") return null;
    var n = typeof at === "number" ? at : /^\d+(\.\d+)?$/.test(String(at)) ? Number(at) : NaN;
    var date = isNaN(n) ? new Date(String(at)) : new Date(n < 1e12 ? n * 1000 : n);
    return isNaN(date.getTime()) ? null : date;
  }

  function formatTime(date) {
    var sameDay = date.toDateString() === new Date().toDateString();
    var options = sameDay ? { hour: "2-digit", minute: "2-digit" }
      : { day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit" };
    return new Intl.DateTimeFormat(LOCALES[state.lang], options).format(date);
  }

  // ---- small DOM helpers -----------------------------------------------------------------------


  function nextId(prefix) { state.idCounter += 1; return prefix + state.idCounter; }


  // Polite announcement for screen readers (new entries, queue changes).
  function announce(parts) {
    var live = $("live");
    var p = el("p");
    parts.forEach(function (part) {
      if (typeof part === "string") p.appendChild(document.createTextNode(part));
      else p.appendChild(el("span", { lang: part.lang || null }, part.text));
    });
    live.appendChild(p);
    while (live.childNodes.length > 4) live.removeChild(live.firstChild);
  }

  function notify(key, params) {
    state.notice = key ? { key: key, params: params || {} } : null;
    clearTimeout(state.noticeTimer);
    if (key) state.noticeTimer = setTimeout(function () { notify(null); }, NOTICE_MS);
    $("notice").textContent = key ? t(key, params) : "";
  }

  function setStatus(key) {
    state.statusKey = key || "";
    var status = $("status");
    status.textContent = key ? t(key) : "";
    status.className = "status" + (key ? " status-" + key.replace(/^status_/, "") : "");
  }

  // After part of the page went away: if the focus went with it, put it somewhere sensible.
  function focusIfLost(target) {
    var active = document.activeElement;
    if (!active || active === document.body || !active.isConnected || !active.getClientRects().length) target.focus();
  }

  // ---- language --------------------------------------------------------------------------------

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    $("ui-language").value = state.lang;
    document.querySelectorAll("[data-i18n]").forEach(function (node) { node.textContent = t(node.dataset.i18n); });
    document.querySelectorAll("[data-i18n-label]").forEach(function (node) {
      node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    });
    if (state.statusKey) setStatus(state.statusKey);
    if (state.notice) $("notice").textContent = t(state.notice.key, state.notice.params);
    showAgentName();
    fillTransfer();
    renderQueue();
    renderMine();
    renderHistory();
    renderConversation();
  }

  function onLanguage() {
    state.lang = pickLang($("ui-language").value) || "en";
    store(STORE_LANG, state.lang);
    applyLanguage();
  }

  function updateTitle() {
    var n = state.signedIn ? state.waiting.length : 0;
    document.title = (n ? "(" + n + ") " : "") + t("page_title");
  }

  function showAgentName() {
    var node = $("agent-name");
    node.hidden = !state.signedIn || !state.me;
    if (state.me) node.textContent = t("signed_in_as", { name: state.me.name || state.me.username });
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method === "POST" && state.me && state.me.csrf) headers["X-CSRF-Token"] = state.me.csrf;
    return fetch(API + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  }

  // "ok" (state.me refreshed), "signed-out" or "error" (server not reachable or failing).
  function checkSession() {
    return api("GET", "me").then(function (response) {
      if (response.status === 401 || response.status === 403) return "signed-out";
      if (!response.ok) return "error";
      return response.json().then(function (me) { state.me = me; return "ok"; });
    }, function () { return "error"; });
  }

  // ---- sign-in and sign-out --------------------------------------------------------------------

  function signinError(key) {
    var error = $("signin-error");
    var text = key ? t(key) : "";
    error.hidden = !key;
    if (text && error.textContent === text) {
      error.textContent = ""; // the same message after another try: set it anew, so it is announced again
      setTimeout(function () { error.textContent = text; }, 100);
    } else {
      error.textContent = text;
    }
    var invalid = key === "signin_wrong" || key === "signin_missing";
    ["username", "password"].forEach(function (id) {
      if (invalid) $(id).setAttribute("aria-invalid", "true"); else $(id).removeAttribute("aria-invalid");
    });
  }

  function showSignin(errorKey) {
    state.signedIn = false;
    closeSocket();
    state.me = null;
    resetWork();
    document.body.classList.remove("working");
    $("work-view").hidden = true;
    $("signout").hidden = true;
    $("audit-open").hidden = true;
    $("dashboard-open").hidden = true;
    $("signin-view").hidden = false;
    showAgentName();
    updateTitle();
    signinError(errorKey);
    $("username").focus();
  }

  function onSignin(event) {
    event.preventDefault();
    var form = $("signin-form");
    if (form.dataset.busy) return;
    var username = $("username").value.trim();
    var password = $("password").value;
    if (!username || !password) { signinError("signin_missing"); return; }
    form.dataset.busy = "1";
    $("signin-submit").setAttribute("aria-disabled", "true");
    api("POST", "signin", { username: username, password: password }).then(function (response) {
      if (response.status === 401) return "signin_wrong";
      if (response.status === 429) return "signin_too_many";
      if (!response.ok) return "signin_failed";
      return response.json().then(function (me) { state.me = me; return null; }, function () { return "signin_failed"; });
    }, function () { return "signin_failed"; }).then(function (errorKey) {
      delete form.dataset.busy;
      $("signin-submit").removeAttribute("aria-disabled");
      if (errorKey) { signinError(errorKey); return; }
      $("password").value = "";
      signinError(null);
      startWork(true);
    });
  }

  function onSignout() {
    state.signedIn = false;
    closeSocket();
    var done = function () { showSignin(null); setStatus("signed_out"); };
    api("POST", "signout").then(done, done);
  }

  function startWork(fromForm) {
    state.signedIn = true;
    $("signin-view").hidden = true;
    document.body.classList.add("working");
    $("work-view").hidden = false;
    $("signout").hidden = false;
    $("audit-open").hidden = !(state.me && state.me.supervisor);
    $("dashboard-open").hidden = !(state.me && state.me.supervisor);
    document.querySelectorAll(".work-only").forEach(function (node) { node.hidden = false; });
    showAgentName();
    applyLanguage();
    if (fromForm) $("queue-heading").focus();
    connect();
  }

  function resetWork() {
    state.convs = new Map();
    state.released = new Map();
    state.mineOrder = [];
    state.waiting = [];
    state.knownWaiting = null;
    state.selected = null;
    state.claiming = null;
    state.canned = {};
    state.queues = [];
    state.agents = [];
    state.closed = [];
    state.closedQuery = "";
    state.viewing = null;
    state.contexts = new Map();
    document.querySelectorAll(".work-only").forEach(function (node) { node.hidden = true; });
    renderHistory();
    $("composer").value = "";
    notify(null);
    clear($("live"));
    renderQueue();
    renderMine();
    renderConversation();
  }

  // ---- the WebSocket -------------------------------------------------------------------------

  function wsUrl() {
    return (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + "/console/ws";
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    if (state.socket || !state.signedIn) return;
    setStatus(state.attempt ? "status_reconnecting" : "status_connecting");
    var ws;
    try { ws = new WebSocket(wsUrl()); } catch (e) { scheduleReconnect(); return; }
    state.socket = ws;
    state.ready = false;
    ws.addEventListener("open", function () { ws.send(JSON.stringify({ type: "hello", csrf: state.me.csrf })); });
    ws.addEventListener("message", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (state.socket === ws && message && Object.prototype.hasOwnProperty.call(HANDLERS, message.type)) {
        HANDLERS[message.type](message);
      }
    });
    ws.addEventListener("close", function () {
      if (state.socket !== ws) return; // closed on purpose
      state.socket = null;
      state.ready = false;
      if (state.signedIn) scheduleReconnect();
    });
  }

  function closeSocket() {
    clearTimeout(state.reconnectTimer);
    var ws = state.socket;
    state.socket = null;
    state.ready = false;
    state.attempt = 0;
    if (ws) ws.close(1000);
  }

  function scheduleReconnect() {
    clearTimeout(state.reconnectTimer);
    state.attempt += 1;
    setStatus("status_reconnecting");
    state.convs.forEach(function (c) { c.typingUntil = 0; });
    renderTyping();
    var base = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length) - 1];
    state.reconnectTimer = setTimeout(function () {
      checkSession().then(function (result) {
        if (!state.signedIn) return;
        if (result === "ok") connect();
        else if (result === "signed-out") showSignin("session_expired");
        else scheduleReconnect();
      });
    }, base / 2 + Math.random() * base / 2);
  }

  function send(message) {
    var ws = state.socket;
    if (!ws || ws.readyState !== WebSocket.OPEN || !state.ready) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  function clientId() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  // ---- conversations -------------------------------------------------------------------------

  function ensureConv(id, info) {
    id = String(id);
    var c = state.convs.get(id);
    if (!c) {
      c = { id: id, info: {}, entries: [], ids: new Set(), lastId: null, loaded: false, opening: false, unread: 0,
        absent: 0, draft: "", noteMode: false, typingUntil: 0, lastTypingSent: 0, lastSent: null, since: Date.now() };
      state.convs.set(id, c);
      if (state.mineOrder.indexOf(id) < 0) state.mineOrder.push(id);
    }
    Object.keys(info || {}).forEach(function (key) {
      if (info[key] !== undefined && info[key] !== null && key !== "entries") c.info[key] = info[key];
    });
    return c;
  }

  function openConv(c) {
    c.opening = send({ type: "open", conversation: c.id, after: c.lastId === null ? "0" : c.lastId });
  }

  function current() { return state.selected === null ? null : state.convs.get(state.selected) || null; }

  function dropConv(id) {
    state.convs.delete(id);
    state.contexts.delete(id);
    state.mineOrder = state.mineOrder.filter(function (x) { return x !== id; });
    if (state.selected === id) {
      state.selected = null;
      renderConversation();
      focusIfLost($("conversation-heading"));
    }
    renderMine();
  }

  function selectConv(id, focusComposer) {
    var previous = current();
    if (previous) previous.draft = $("composer").value;
    state.selected = id;
    state.viewing = null;
    var c = current();
    if (c) c.unread = 0;
    state.cannedSnap = null;
    renderMine();
    renderConversation();
    if (c && focusComposer) $("composer").focus();
  }

  // Stream ids ("1700000000000-0") are ordered; other ids keep their arrival order.
  function idKey(id) {
    var m = /^(\d+)-(\d+)$/.exec(String(id));
    return m ? [Number(m[1]), Number(m[2])] : null;
  }

  function idAfter(a, b) {
    var ka = idKey(a), kb = idKey(b);
    if (!ka || !kb) return false;
    return ka[0] !== kb[0] ? ka[0] > kb[0] : ka[1] > kb[1];
  }

  // Who wrote an agent entry or note: entry.agent is the agent's display name (or username).
  function agentOf(entry) {
    var a = entry.agent;
    if (!a) return { name: "", mine: false };
    var name = String(typeof a === "object" ? a.name || a.username || "" : a);
    var me = state.me || {};
    return { name: name, mine: name === me.name || name === me.username };
  }

  // Entries of one conversation, in id order and each once; announceNew: say them aloud.
  function addEntries(c, entries, announceNew) {
    var added = [];
    (entries || []).forEach(function (entry) {
      if (!entry || entry.id === undefined || entry.id === null) return;
      var id = String(entry.id);
      if (c.ids.has(id)) return;
      c.ids.add(id);
      var at = c.entries.length;
      while (at > 0 && idAfter(c.entries[at - 1].id, id)) at -= 1;
      c.entries.splice(at, 0, entry);
      if (c.lastId === null || idAfter(id, c.lastId) || !idKey(id)) c.lastId = id;
      added.push(entry);
    });
    if (!added.length) return;
    var shown = state.selected === c.id;
    if (shown) added.forEach(function (entry) { showEntry(c, entry); });
    added.forEach(function (entry) {
      if (entry.from === "citizen") c.typingUntil = 0;
      if (agentOf(entry).mine && c.lastSent && String(entry.text).trim() === c.lastSent.text.trim()) c.lastSent = null;
      if (!announceNew || agentOf(entry).mine) return;
      if (shown) {
        announce([whoLabel(entry) + ": ", { text: String(entry.text || ""), lang: langAttr(entry.language) }]);
      } else if (entry.from === "citizen") {
        c.unread += 1;
        announce([t("new_message_elsewhere", { details: details(c.info) })]);
      }
    });
    renderTyping();
    if (!shown) renderMine();
  }

  // ---- server messages -----------------------------------------------------------------------

  var HANDLERS = {
    ready: function (m) {
      state.ready = true;
      setStatus("status_connected");
      state.attempt = 0;
      if (m.agent && state.me) state.me.name = m.agent.name || state.me.name;
      state.queues = Array.isArray(m.queues) ? m.queues : [];
      state.agents = Array.isArray(m.agents) ? m.agents : [];
      state.status = m.status === "away" ? "away" : "available";
      $("agent-status").value = state.status;
      showAgentName();
      fillTransfer();
      state.convs.forEach(openConv);
    },

    queue: function (m) {
      var now = Date.now();
      state.waiting = (Array.isArray(m.waiting) ? m.waiting : []).map(function (item) {
        return Object.assign({}, item, { receivedAt: now });
      });
      var ids = new Set(state.waiting.map(function (item) { return String(item.conversation); }));
      if (state.knownWaiting) {
        var fresh = state.waiting.filter(function (item) { return !state.knownWaiting.has(String(item.conversation)); });
        fresh = fresh.filter(shownInQueue);
        if (fresh.length === 1) announce([t("new_in_queue", { details: details(fresh[0]) })]);
        else if (fresh.length > 1) announce([t("new_in_queue_many", { count: fresh.length })]);
        if (fresh.length && state.sound && state.status === "available") beep();
      }
      var firstQueue = state.knownWaiting === null;
      state.knownWaiting = ids;

      var mine = Array.isArray(m.mine) ? m.mine : [];
      var mineIds = mine.map(function (item) { return String(item.conversation); });
      mine.forEach(function (item) {
        var id = String(item.conversation);
        var isNew = !state.convs.has(id);
        if (isNew && now - (state.released.get(id) || 0) < KEEP_CLAIMED_MS) return;
        var c = ensureConv(id, item);
        if (isNew) {
          openConv(c);
          if (!firstQueue && state.claiming !== id) announce([t("transferred_to_you", { details: details(c.info) })]);
        }
      });
      // Gone from "mine" without a "released" (say, requeued while this console was away): let
      // one more snapshot pass, so a "released" on its way can still say why.
      state.convs.forEach(function (c, id) {
        c.absent = mineIds.indexOf(id) < 0 ? c.absent + 1 : 0;
        if (c.absent >= 2 && now - c.since > KEEP_CLAIMED_MS) {
          dropConv(id);
          notify("released_other", { details: details(c.info) });
        }
      });
      state.mineOrder = mineIds.concat(state.mineOrder.filter(function (id) {
        return mineIds.indexOf(id) < 0 && state.convs.has(id);
      }));
      renderQueue();
      renderMine();
      if (state.selected !== null) renderCaseInfo();
      else if (firstQueue && state.mineOrder.length) selectConv(state.mineOrder[0], false); // back after a reload
    },

    claimed: function (m) {
      var id = String(m.conversation);
      var isNew = !state.convs.has(id);
      var c = ensureConv(id, m.case);
      c.since = Date.now();
      state.claiming = null;
      state.waiting = state.waiting.filter(function (item) { return String(item.conversation) !== id; });
      renderQueue();
      if (isNew || (!c.loaded && !c.opening)) openConv(c);
      notify("claimed", { details: details(c.info) });
      selectConv(id, true);
    },

    transcript: function (m) {
      var c = state.convs.get(String(m.conversation));
      if (!c) return;
      ensureConv(c.id, m.case);
      addEntries(c, m.entries, c.loaded);
      c.loaded = true;
      c.opening = false;
      if (state.selected === c.id) renderCaseInfo();
      renderMine();
    },

    entry: function (m) {
      var c = state.convs.get(String(m.conversation));
      if (c && m.entry) addEntries(c, [m.entry], true);
    },

    typing: function (m) {
      var c = state.convs.get(String(m.conversation));
      if (!c) return;
      c.typingUntil = Date.now() + CITIZEN_TYPING_MS;
      renderTyping();
    },

    released: function (m) {
      var id = String(m.conversation);
      var c = state.convs.get(id);
      if (!c) return;
      var key = has("released_" + m.why) ? "released_" + m.why : "released_other";
      state.released.set(id, Date.now());
      dropConv(id);
      notify(key, { details: details(c.info) });
    },

    status: function (m) {
      state.status = m.status === "away" ? "away" : "available";
      $("agent-status").value = state.status;
      notify(state.status === "away" ? "status_now_away" : "status_now_available");
    },

    closed: function (m) {
      state.closed = Array.isArray(m.cases) ? m.cases : [];
      state.closedQuery = typeof m.query === "string" ? m.query : "";
      renderHistory();
    },

    closed_transcript: function (m) {
      if (!m.case) return;
      var previous = current();
      if (previous) previous.draft = $("composer").value;
      state.selected = null;
      state.viewing = { info: m.case, entries: Array.isArray(m.entries) ? m.entries : [] };
      renderMine();
      renderConversation();
      $("conversation-heading").focus();
    },

    context: function (m) {
      state.contexts.set(String(m.conversation), m);
      renderContext();
    },

    revealed: function (m) {
      var c = state.convs.get(String(m.conversation));
      if (!c || !Array.isArray(m.values)) return;
      var entry = c.entries.filter(function (e) { return String(e.vault) === String(m.entry); })[0];
      var node = entry && document.querySelector('[data-entry-id="' + CSS.escape(String(entry.id)) + '"] .masked');
      if (!node) return;
      node.textContent = "";
      m.values.forEach(function (v) {
        node.appendChild(el("span", { class: "revealed" }, t("masked_" + v.kind) + ": " + String(v.value)));
      });
    },
    error: function (m) {
      var code = String(m.code || "");
      var c = m.conversation !== undefined ? state.convs.get(String(m.conversation)) : null;
      if (code === "csrf") return; // the hello was refused: the socket closes and reconnects with a fresh token
      if (code === "taken") {
        state.claiming = null;
        notify("claim_taken");
        return;
      }
      if (code === "not_yours" && c) { // the console missed a release: say so, drop it
        dropConv(c.id);
        notify("released_other", { details: details(c.info) });
        return;
      }
      notify(has("error_" + code) ? "error_" + code : "error_other", { code: code || "?" });
      c = c || current();
      if (c && c === current() && c.lastSent && Date.now() - c.lastSent.at < 10000 && !$("composer").value) {
        $("composer").value = c.lastSent.text; // nothing the agent wrote is lost
        c.draft = c.lastSent.text;
        c.lastSent = null;
      }
    },
  };

  // ---- rendering: queue and my conversations ---------------------------------------------------

  // Update a list in place, keyed by conversation id, so a focused button is not thrown away.
  function reconcile(list, ids, build, update, focusTarget) {
    var existing = new Map();
    Array.prototype.forEach.call(list.children, function (li) { existing.set(li.dataset.conversation, li); });
    var focused = list.contains(document.activeElement) ? document.activeElement : null;
    var nodes = new Map();
    ids.forEach(function (id, i) {
      var li = existing.get(id) || build(id);
      existing.delete(id);
      update(li, id);
      nodes.set(id, li);
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    });
    existing.forEach(function (li) { list.removeChild(li); });
    if (focused && !list.contains(focused)) focusTarget.focus();
    return nodes;
  }

  function shownInQueue(item) {
    var lang = pickLang(item.language);
    return !lang || state.filter.indexOf(lang) >= 0;
  }

  // A short tone for a new case (Web Audio: no sound file to load); only after the agent turned
  // sounds on, which is also the gesture browsers ask for before a page may play sound.
  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      state.audio = state.audio || new Context();
      var osc = state.audio.createOscillator();
      var gain = state.audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.08;
      osc.connect(gain);
      gain.connect(state.audio.destination);
      osc.start();
      osc.stop(state.audio.currentTime + 0.15);
    } catch (e) { /* no sound: the title and the screen reader still tell */ }
  }

  function buildQueueItem(id) {
    var li = el("li", { class: "item", "data-conversation": id });
    var info = el("div", { class: "item-info", id: nextId("queue-item-") });
    info.appendChild(el("span", { class: "badge" }));
    info.appendChild(el("span", { class: "details" }));
    info.appendChild(el("span", { class: "reason" }));
    info.appendChild(el("span", { class: "waited" }));
    var preview = el("span", { class: "preview" });
    preview.appendChild(el("span", { class: "visually-hidden preview-label" }));
    preview.appendChild(el("q", { class: "preview-text" }));
    info.appendChild(preview);
    li.appendChild(info);
    li.appendChild(el("button", { type: "button", class: "claim button primary", "aria-describedby": info.id }));
    return li;
  }

  function waitedText(item) {
    var seconds = Number(item.waiting_seconds) || 0;
    return t("waited", { time: duration(seconds + (Date.now() - item.receivedAt) / 1000) });
  }

  function renderQueue() {
    var shown = state.waiting.filter(shownInQueue);
    var byId = new Map(shown.map(function (item) { return [String(item.conversation), item]; }));
    $("queue-heading").textContent = t("queue_heading", { count: shown.length });
    $("queue-empty").hidden = state.waiting.length > 0;
    var hidden = state.waiting.length - shown.length;
    $("queue-hidden").hidden = hidden === 0;
    $("queue-hidden").textContent = hidden ? t("queue_hidden", { count: hidden }) : "";
    LANGS.forEach(function (lang) { $("filter-" + lang).checked = state.filter.indexOf(lang) >= 0; });
    state.queueNodes = reconcile($("queue-list"), Array.from(byId.keys()), buildQueueItem, function (li, id) {
      var item = byId.get(id);
      var badge = li.querySelector(".badge");
      badge.textContent = kindName(item.kind);
      badge.className = "badge kind-" + (item.kind === "message" ? "message" : "live");
      li.querySelector(".details").textContent = details(item);
      li.querySelector(".reason").textContent = item.reason ? t("reason_label", { reason: reasonName(item.reason) }) : "";
      li.querySelector(".waited").textContent = waitedText(item);
      var preview = li.querySelector(".preview");
      preview.hidden = !item.preview;
      preview.querySelector(".preview-label").textContent = t("preview_label") + " ";
      var quote = preview.querySelector(".preview-text");
      quote.textContent = payloadText(String(item.preview || ""));
      if (langAttr(item.language)) quote.setAttribute("lang", item.language); else quote.removeAttribute("lang");
      li.querySelector(".claim").textContent = t("claim");
    }, $("queue-heading"));
    updateTitle();
  }

  function buildMineItem(id) {
    var li = el("li", { class: "item", "data-conversation": id });
    var button = el("button", { type: "button", class: "select-conversation" });
    button.appendChild(el("span", { class: "badge" }));
    button.appendChild(el("span", { class: "details" }));
    button.appendChild(el("span", { class: "unread" }));
    li.appendChild(button);
    return li;
  }

  function renderMine() {
    var ids = state.mineOrder.filter(function (id) { return state.convs.has(id); });
    $("mine-empty").hidden = ids.length > 0;
    reconcile($("mine-list"), ids, buildMineItem, function (li, id) {
      var c = state.convs.get(id);
      var button = li.querySelector("button");
      var badge = li.querySelector(".badge");
      badge.textContent = kindName(c.info.kind);
      badge.className = "badge kind-" + (c.info.kind === "message" ? "message" : "live");
      li.querySelector(".details").textContent = [details(c.info), shortRef(id)].filter(Boolean).join(", ");
      var unread = li.querySelector(".unread");
      unread.textContent = c.unread ? t("unread", { count: c.unread }) : "";
      unread.hidden = !c.unread;
      if (state.selected === id) button.setAttribute("aria-current", "true"); else button.removeAttribute("aria-current");
    }, $("mine-heading"));
  }

  // ---- rendering: ended conversations and the context panel ------------------------------------

  function when(at) {
    var date = toDate(at);
    return date ? formatTime(date) : "";
  }

  function ratingText(rating) {
    return typeof rating === "number" ? t("rating_given", { score: rating }) : t("rating_none");
  }

  function renderHistory() {
    var list = $("history-list");
    clear(list);
    var query = state.closedQuery;
    var status = $("history-empty");
    if (!state.closed.length) status.textContent = query ? t("history_none_found", { query: query }) : t("history_empty");
    else status.textContent = query ? t("history_found", { query: query, count: state.closed.length }) : "";
    state.closed.forEach(function (item) {
      var li = el("li", { class: "item closed-item", "data-record": String(item.id) });
      var button = el("button", { type: "button", class: "select-closed" });
      button.appendChild(el("span", { class: "visually-hidden" }, t("history_open", { time: when(item.ended_at) }) + ": "));
      button.appendChild(el("span", { class: "details" }, details(item)));
      button.appendChild(el("span", { class: "ended", "aria-hidden": "true" }, t("ended_at", { time: when(item.ended_at) })));
      if (item.preview) button.appendChild(el("q", { class: "preview-text", lang: langAttr(item.language) }, payloadText(String(item.preview))));
      button.appendChild(el("span", { class: "rating" + (typeof item.rating === "number" ? " rated" : "") }, ratingText(item.rating)));
      li.appendChild(button);
      list.appendChild(li);
    });
  }

  function renderContext() {
    var c = current();
    var context = c ? state.contexts.get(c.id) : null;
    $("context-none").hidden = !!context;
    $("context-body").hidden = !context;
    if (!context) return;
    var dl = $("context-info");
    clear(dl);
    caseRow(dl, "label_channel", channelName(context.channel || c.info.channel));
    caseRow(dl, "label_language", langName(context.language || c.info.language));
    caseRow(dl, "label_citizen", t(context.linked ? "context_linked" : "context_anonymous"));
    caseRow(dl, "label_first_seen", when(context.first_seen));
    var earlier = Array.isArray(context.earlier) ? context.earlier : [];
    $("context-earlier-none").hidden = earlier.length > 0;
    var list = $("context-earlier");
    clear(list);
    earlier.forEach(function (item) {
      var li = el("li", { class: "earlier-item" });
      li.appendChild(el("span", { class: "ended" }, t("ended_at", { time: when(item.ended_at) })));
      if (item.reason) li.appendChild(el("span", null, reasonName(item.reason)));
      if (item.preview) li.appendChild(el("q", { class: "preview-text", lang: langAttr(item.language) }, payloadText(String(item.preview))));
      li.appendChild(el("span", { class: "rating" }, ratingText(item.rating)));
      list.appendChild(li);
    });
  }

  function onHistorySearch(event) {
    event.preventDefault();
    var query = $("history-query").value.trim();
    if (!send({ type: "search", query: query })) notify("not_connected_action");
  }

  function onHistoryClick(event) {
    var button = event.target.closest("button.select-closed");
    if (!button) return;
    if (!send({ type: "view", conversation: button.closest("li").dataset.record })) notify("not_connected_action");
  }

  function closeReadonly() {
    state.viewing = null;
    renderConversation();
    var first = $("history-list").querySelector("button");
    (first || $("history-query")).focus();
  }

  // ---- rendering: the open conversation ------------------------------------------------------

  function whoLabel(entry) {
    var agent = agentOf(entry);
    switch (entry.from) {
      case "citizen": return t("from_citizen");
      case "bot": return t("from_bot");
      case "agent":
        if (agent.mine) return t("from_you");
        return agent.name ? t("from_agent", { name: agent.name }) : t("from_agent_unnamed");
      case "note":
        if (agent.mine) return t("from_note", { name: t("from_you") });
        return agent.name ? t("from_note", { name: agent.name }) : t("from_note_unnamed");
      default: return t("from_system");
    }
  }

  function entryNode(entry, readonly) {
    var from = ENTRY_SOURCES.indexOf(entry.from) >= 0 ? entry.from : "system";
    var li = el("li", { class: "entry from-" + from, "data-entry-id": String(entry.id), "data-from": from });
    var meta = el("p", { class: "meta" });
    meta.appendChild(el("span", { class: "who" }, whoLabel(entry)));
    var date = toDate(entry.at);
    if (date) meta.appendChild(el("time", { datetime: date.toISOString() }, formatTime(date)));
    li.appendChild(meta);
    var text = entry.text === undefined || entry.text === null ? "" : String(entry.text);
    if (from === "citizen") text = payloadText(text);
    if (entry.safety) {
      li.className += " danger";  // an emergency or a crisis: marked at once
      li.appendChild(el("p", { class: "danger-label", role: "alert" }, t("danger_" + entry.safety)));
    }
    li.appendChild(el("p", { class: "text", lang: langAttr(entry.language) }, text));
    if (entry.vault && !readonly) {
      // Personal data was masked in this message; the agent may see it, with a reason (recorded).
      var reveal = el("button", { type: "button", class: "button secondary reveal" }, t("reveal"));
      reveal.addEventListener("click", function () {
        var why = window.prompt(t("reveal_why"));
        if (why === null) return;
        send({ type: "reveal", conversation: current() && current().id, entry: String(entry.vault), why: why });
      });
      var masked = el("p", { class: "masked" });
      masked.appendChild(reveal);
      li.appendChild(masked);
    }
    if (from === "citizen" && entry.intent) {
      var confidence = typeof entry.confidence === "number" ? entry.confidence.toFixed(2) : entry.confidence || "";
      li.appendChild(el("p", { class: "understood" }, t("understood", { intent: intentName(entry.intent), confidence: confidence }).trim()));
    }
    if (Array.isArray(entry.buttons) && entry.buttons.length) {
      var buttons = el("p", { class: "buttons" }, t("buttons_offered") + " ");
      var titles = entry.buttons.map(function (b) { return typeof b === "string" ? b : b.title || b.payload || ""; });
      buttons.appendChild(el("span", { lang: langAttr(entry.language) }, titles.join(" · ")));
      li.appendChild(buttons);
    }
    return li;
  }

  function showEntry(c, entry) {
    var list = $("transcript");
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    var index = c.entries.indexOf(entry);
    var next = c.entries[index + 1];
    var before = next ? list.querySelector('[data-entry-id="' + CSS.escape(String(next.id)) + '"]') : null;
    list.insertBefore(entryNode(entry), before);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function caseRow(dl, labelKey, value) {
    if (!value) return;
    var row = el("div");
    row.appendChild(el("dt", null, t(labelKey)));
    row.appendChild(el("dd", null, value));
    dl.appendChild(row);
  }

  function renderCaseInfo() {
    var c = current();
    var dl = $("case-info");
    clear(dl);
    $("conversation-heading").textContent = c ? t("conversation_heading_with", { details: details(c.info) })
      : t("conversation_heading");
    if (!c) return;
    caseRow(dl, "label_language", langName(c.info.language));
    caseRow(dl, "label_channel", channelName(c.info.channel));
    caseRow(dl, "label_reason", reasonName(c.info.reason));
    caseRow(dl, "label_kind", kindName(c.info.kind));
    caseRow(dl, "label_queue", queueName(c.info.queue));
    caseRow(dl, "label_reference", shortRef(c.id));
  }

  function renderTyping() {
    var c = current();
    $("typing").hidden = !c || c.typingUntil <= Date.now();
  }

  function renderComposerMode() {
    var c = current();
    var note = !!(c && c.noteMode);
    $("note-mode").checked = note;
    $("composer-label").textContent = t(note ? "composer_note_label" : "composer_label");
    $("send").textContent = t(note ? "add_note" : "send");
    $("composer-form").classList.toggle("is-note", note);
  }

  function renderConversation() {
    var c = current();
    var viewing = c ? null : state.viewing;
    if (c) state.viewing = null;
    $("no-conversation").hidden = !!(c || viewing);
    $("conversation-body").hidden = !(c || viewing);
    $("readonly").hidden = !viewing;
    $("composer-form").hidden = !!viewing;
    document.querySelector(".case-actions").hidden = !!viewing;
    renderCaseInfo();
    renderTyping();
    renderComposerMode();
    renderContext();
    var list = $("transcript");
    clear(list);
    if (viewing) {
      $("conversation-heading").textContent = t("readonly_heading", { details: details(viewing.info) });
      var dl = $("case-info");
      caseRow(dl, "label_reason", reasonName(viewing.info.reason));
      caseRow(dl, "label_channel", channelName(viewing.info.channel));
      caseRow(dl, "label_language", langName(viewing.info.language));
      viewing.entries.forEach(function (entry) { list.appendChild(entryNode(entry, true)); });
      return;
    }
    if (!c) return;
    c.entries.forEach(function (entry) { list.appendChild(entryNode(entry)); });
    list.scrollTop = list.scrollHeight;
    var composer = $("composer");
    composer.value = c.draft;
    if (langAttr(c.info.language)) composer.setAttribute("lang", c.info.language); else composer.removeAttribute("lang");
    fillCanned();
  }

  // ---- composer, canned responses, transfer, end -------------------------------------------------

  function submitComposer() {
    var c = current();
    var composer = $("composer");
    var text = composer.value.trim();
    if (!c || !text) return;
    var message = c.noteMode ? { type: "note", conversation: c.id, text: text }
      : { type: "send", conversation: c.id, text: text, client_id: clientId() };
    if (!send(message)) { notify("not_connected"); return; }
    c.lastSent = { text: composer.value, at: Date.now() };
    composer.value = "";
    c.draft = "";
    state.cannedSnap = null;
    $("canned").value = "";
  }

  function onComposerKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitComposer();
    }
  }

  function onComposerInput() {
    var c = current();
    if (!c) return;
    c.draft = $("composer").value;
    var now = Date.now();
    if (!c.noteMode && c.draft.trim() && now - c.lastTypingSent >= TYPING_EVERY_MS) {
      if (send({ type: "typing", conversation: c.id })) c.lastTypingSent = now;
    }
  }

  function onNoteMode() {
    var c = current();
    if (c) c.noteMode = $("note-mode").checked;
    renderComposerMode();
  }

  function loadCanned(language) {
    if (!state.canned[language]) {
      state.canned[language] = api("GET", "canned?language=" + encodeURIComponent(language)).then(function (response) {
        if (!response.ok) throw new Error("canned " + response.status);
        return response.json();
      }).then(function (list) { return Array.isArray(list) ? list : []; });
      state.canned[language].catch(function () { delete state.canned[language]; });
    }
    return state.canned[language];
  }

  function setCannedOptions(list, placeholderKey, language) {
    var select = $("canned");
    clear(select);
    select.appendChild(el("option", { value: "" }, t(placeholderKey)));
    list.forEach(function (item) {
      select.appendChild(el("option", { value: String(item.id), lang: language }, String(item.title || item.text || "")));
    });
    state.cannedList = list;
  }

  function fillCanned() {
    var c = current();
    if (!c) return;
    var language = pickLang(c.info.language) || state.lang;
    setCannedOptions([], "canned_loading", language);
    loadCanned(language).then(function (list) {
      if (current() === c) setCannedOptions(list, list.length ? "canned_choose" : "canned_none", language);
    }, function () {
      if (current() === c) setCannedOptions([], "canned_failed", language);
    });
  }

  // Choosing a canned response puts its text where the cursor was; choosing another one (say,
  // with the arrow keys) replaces it, as long as the agent has not edited the text in between.
  function onCanned() {
    var c = current();
    var composer = $("composer");
    var id = $("canned").value;
    var item = state.cannedList.filter(function (x) { return String(x.id) === id; })[0];
    var snap = state.cannedSnap;
    if (!snap || composer.value !== snap.value) {
      snap = state.cannedSnap = { base: composer.value, start: composer.selectionStart, end: composer.selectionEnd, value: null };
    }
    if (!item) {
      composer.value = snap.base;
    } else {
      var before = snap.base.slice(0, snap.start);
      var after = snap.base.slice(snap.end);
      if (before && !/\s$/.test(before)) before += " ";
      composer.value = before + String(item.text || "") + after;
      var caret = composer.value.length - after.length;
      composer.setSelectionRange(caret, caret);
    }
    snap.value = composer.value;
    if (c) c.draft = composer.value;
  }

  function fillTransfer() {
    var select = $("transfer-target");
    var keep = select.value;
    clear(select);
    select.appendChild(el("option", { value: "" }, t("transfer_choose")));
    if (state.queues.length) {
      var queues = el("optgroup", { label: t("transfer_queues") });
      state.queues.forEach(function (q) {
        var code = typeof q === "string" ? q : q && q.id;
        if (code) queues.appendChild(el("option", { value: "queue:" + code }, queueName(code)));
      });
      select.appendChild(queues);
    }
    var me = state.me ? state.me.username : null;
    var others = state.agents.filter(function (a) { return (typeof a === "string" ? a : a && a.username) !== me; });
    if (others.length) {
      var agents = el("optgroup", { label: t("transfer_agents") });
      others.forEach(function (a) {
        var username = typeof a === "string" ? a : a.username;
        if (username) agents.appendChild(el("option", { value: "agent:" + username }, typeof a === "string" ? a : a.name || username));
      });
      select.appendChild(agents);
    }
    select.value = keep;
    if (select.value !== keep) select.value = "";
  }

  function onTransfer() {
    var c = current();
    var target = $("transfer-target").value;
    if (!c) return;
    if (!target) { notify("transfer_missing"); $("transfer-target").focus(); return; }
    var colon = target.indexOf(":");
    var message = { type: "transfer", conversation: c.id };
    message[target.slice(0, colon) === "queue" ? "queue" : "agent"] = target.slice(colon + 1);
    if (!send(message)) notify("not_connected_action");
  }

  function onEnd() {
    var c = current();
    if (!c) return;
    state.endingConv = c.id;
    var dialog = $("end-dialog");
    if (typeof dialog.showModal === "function") {
      dialog.returnValue = "";
      dialog.showModal();
      $("end-cancel").focus();
    } else if (window.confirm(t("end_confirm_heading"))) {
      endConv();
    }
  }

  function endConv() {
    var id = state.endingConv;
    state.endingConv = null;
    if (id !== null && state.convs.has(id) && !send({ type: "end", conversation: id })) notify("not_connected_action");
  }

  function onQueueClick(event) {
    var button = event.target.closest("button.claim");
    if (!button) return;
    var id = button.closest("li").dataset.conversation;
    state.claiming = id;
    if (!send({ type: "claim", conversation: id })) { state.claiming = null; notify("not_connected_action"); }
  }

  function onMineClick(event) {
    var button = event.target.closest("button.select-conversation");
    if (button) selectConv(button.closest("li").dataset.conversation, false);
  }

  function tick() {
    var now = Date.now();
    state.waiting.forEach(function (item) {
      var li = state.queueNodes.get(String(item.conversation));
      if (li) li.querySelector(".waited").textContent = waitedText(item);
    });
    var c = current();
    if (c && c.typingUntil && c.typingUntil <= now) { c.typingUntil = 0; renderTyping(); }
  }

  // ---- the audit log, for supervisors ----------------------------------------------------------

  function openAudit() {
    var rows = $("audit-rows");
    clear(rows);
    $("audit-status").textContent = t("audit_loading");
    $("audit-dialog").showModal();
    api("GET", "audit?limit=200").then(function (response) {
      if (!response.ok) throw new Error("audit " + response.status);
      return response.json();
    }).then(function (body) {
      var entries = Array.isArray(body.entries) ? body.entries : [];
      $("audit-status").textContent = entries.length ? "" : t("audit_empty");
      entries.forEach(function (e) {
        var tr = el("tr");
        var when = new Date(e.at);
        tr.appendChild(el("td", null, isNaN(when) ? String(e.at) : when.toLocaleString(state.lang)));
        tr.appendChild(el("td", null, String(e.who || "")));
        tr.appendChild(el("td", null, has("audit_action_" + e.action) ? t("audit_action_" + e.action) : String(e.action)));
        tr.appendChild(el("td", null, String(e.conversation || e.citizen || "")));
        tr.appendChild(el("td", null, String(e.why || "")));
        rows.appendChild(tr);
      });
    }).catch(function () { $("audit-status").textContent = t("audit_failed"); });
  }

  // ---- start -----------------------------------------------------------------------------------

  function bind() {
    $("ui-language").addEventListener("change", onLanguage);
    $("signin-form").addEventListener("submit", onSignin);
    $("signout").addEventListener("click", onSignout);
    $("audit-open").addEventListener("click", openAudit);
    $("queue-list").addEventListener("click", onQueueClick);
    $("mine-list").addEventListener("click", onMineClick);
    $("composer-form").addEventListener("submit", function (event) { event.preventDefault(); submitComposer(); });
    $("composer").addEventListener("keydown", onComposerKey);
    $("composer").addEventListener("input", onComposerInput);
    $("note-mode").addEventListener("change", onNoteMode);
    $("canned").addEventListener("change", onCanned);
    $("transfer").addEventListener("click", onTransfer);
    $("end").addEventListener("click", onEnd);
    $("agent-status").addEventListener("change", function () {
      if (!send({ type: "status", status: $("agent-status").value })) {
        $("agent-status").value = state.status;
        notify("not_connected_action");
      }
    });
    $("sound").checked = state.sound;
    $("sound").addEventListener("change", function () {
      state.sound = $("sound").checked;
      store(STORE_SOUND, state.sound ? "1" : "0");
      if (state.sound) beep(); // the agent hears what a new case sounds like (and the browser allows sound)
    });
    $("queue-filter").addEventListener("change", function () {
      state.filter = LANGS.filter(function (lang) { return $("filter-" + lang).checked; });
      store(STORE_FILTER, state.filter.join(","));
      renderQueue();
    });
    $("history-form").addEventListener("submit", onHistorySearch);
    $("history-list").addEventListener("click", onHistoryClick);
    $("readonly-close").addEventListener("click", closeReadonly);
    $("end-dialog").addEventListener("close", function () {
      if ($("end-dialog").returnValue === "end") endConv(); else state.endingConv = null;
    });
    window.addEventListener("online", function () { if (state.signedIn && !state.socket) connect(); });
    setInterval(tick, 1000);
  }

  function boot() {
    document.documentElement.lang = state.lang;
    bind();
    fetch("/console/strings.json", { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("strings " + response.status);
      return response.json();
    }).then(function (strings) {
      state.strings = strings;
      $("boot").hidden = true;
      applyLanguage();
      return checkSession();
    }).then(function (result) {
      if (result === "ok") startWork(false);
      else showSignin(result === "error" ? "server_unreachable" : null);
    }).catch(function () {
      $("boot").hidden = true;
      $("boot-error").hidden = false;
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
