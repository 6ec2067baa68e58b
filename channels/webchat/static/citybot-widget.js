/*
 * Citybot web chat widget: one <script> tag on a city page, no framework.
 *
 *   <script src="https://chat.example.fi/webchat/citybot-widget.js" data-lang="fi" defer></script>
 *
 * Speaks Rasa's socket.io protocol (session_request/session_confirm, user_uttered/bot_uttered).
 * Accessibility (WCAG 2.1 AA): keyboard only, visible focus, new messages announced through an
 * aria-live log, every message carries its own lang attribute, works at 320 px and 200% zoom.
 * The session id and its resume secret (issued by the server) are kept in localStorage so a
 * reload resumes the same conversation; the transcript is kept in sessionStorage so the reloaded
 * page shows it again. Without the secret (or, for a signed-in chat, without the sign-in) the
 * server starts a new conversation.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(".", script.src).href; // .../webchat/
  var origin = new URL(script.src).origin;
  var LANGS = ["fi", "sv", "en"];
  var AUTONYMS = { fi: "Suomi", sv: "Svenska", en: "English" };
  var STORE_SESSION = "citybot.session";
  var STORE_SECRET = "citybot.secret";
  var STORE_LANG = "citybot.lang";
  var STORE_LOG = "citybot.transcript";

  function pickLang(value) {
    var code = String(value || "").slice(0, 2).toLowerCase();
    return LANGS.indexOf(code) >= 0 ? code : null;
  }

  // Set by the embedding page (docs: README, "Embedding the web chat"); the city's defaults else.
  var theme = {
    title: script.dataset.title || "",
    color: script.dataset.color || "",
    logo: script.dataset.logo || "",
    position: script.dataset.position === "left" ? "left" : "right",
    accessibility: script.dataset.accessibilityUrl || "",
  };
  var SUGGESTIONS = [
    ["suggest_daycare", "/faq_daycare_application"],
    ["suggest_hours", "/faq_opening_hours"],
    ["suggest_waste", "/faq_waste_sorting"],
    ["suggest_library", "/faq_library"],
    ["suggest_person", "/request_human"],
  ];

  var state = {
    lang: pickLang(localStorage.getItem(STORE_LANG)) || pickLang(script.dataset.lang) ||
      pickLang(document.documentElement.lang) || pickLang(navigator.language) || "fi",
    strings: null,
    socket: null,
    confirmed: false,
    dropped: false,
    sessionId: localStorage.getItem(STORE_SESSION),
    secret: localStorage.getItem(STORE_SECRET),
    lastSent: "",
    everConnected: false,
    failures: 0,
    pending: [], // messages written while not connected: sent as soon as the session is back
    inflight: {}, // message id -> [message, extra]: sent, not yet acknowledged; resent on reconnect
    shown: [], // "<message id>#<index>" of the replies shown (a resent message's answer comes again)
    withAgent: sessionStorage.getItem("citybot.withAgent") === "1", // a person answers, not the bot
    unanswered: [], // the citizen's messages since the last reply: their language is known only then
    typingTimer: null,
    lastTyping: 0,
  };

  function t(key) {
    var entry = state.strings[key] || state.strings.error_other;
    return entry[state.lang] || entry.fi;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = el("script", { src: src });
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  var ui = {};

  function build() {
    document.head.appendChild(el("link", { rel: "stylesheet", href: base + "citybot-widget.css" }));
    var root = el("div", { class: "cb-root" });
    ui.launcher = el("button", { type: "button", class: "cb-launcher", "aria-expanded": "false", "aria-controls": "cb-panel" });
    ui.panel = el("section", { id: "cb-panel", class: "cb-panel", hidden: "" });
    var header = el("div", { class: "cb-header" });
    var titleRow = el("div", { class: "cb-title-row" });
    if (theme.logo) titleRow.appendChild(el("img", { class: "cb-logo", src: theme.logo, alt: "" }));
    ui.title = el("h2", { class: "cb-title", id: "cb-title" });
    ui.panel.setAttribute("aria-labelledby", "cb-title");
    ui.close = el("button", { type: "button", class: "cb-close" });
    ui.langGroup = el("div", { class: "cb-langs", role: "group" });
    LANGS.forEach(function (code) {
      var b = el("button", { type: "button", class: "cb-lang", lang: code, "data-lang": code }, AUTONYMS[code]);
      b.addEventListener("click", function () { chooseLanguage(code); });
      ui.langGroup.appendChild(b);
    });
    titleRow.appendChild(ui.title);
    titleRow.appendChild(ui.close);
    header.appendChild(titleRow);
    header.appendChild(ui.langGroup);
    ui.log = el("div", { class: "cb-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
    ui.status = el("p", { class: "cb-status", role: "status", "aria-live": "polite" });
    ui.typing = el("p", { class: "cb-typing", hidden: "" });
    var form = el("form", { class: "cb-form" });
    ui.inputLabel = el("label", { for: "cb-input", class: "cb-visually-hidden" });
    ui.input = el("textarea", { id: "cb-input", class: "cb-input", rows: "2", maxlength: "2000" });
    ui.send = el("button", { type: "submit", class: "cb-send" });
    form.appendChild(ui.inputLabel);
    form.appendChild(ui.input);
    form.appendChild(ui.send);
    ui.footer = el("p", { class: "cb-footer" });
    ui.accessibility = el("a", { class: "cb-footer-link", href: "#", target: "_blank", rel: "noopener" });
    ui.footer.appendChild(ui.accessibility);
    ui.panel.appendChild(header);
    ui.panel.appendChild(ui.log);
    ui.panel.appendChild(ui.typing);
    ui.panel.appendChild(ui.status);
    ui.panel.appendChild(form);
    ui.panel.appendChild(ui.footer);
    if (theme.position === "left") root.classList.add("cb-left");
    if (theme.color) root.style.setProperty("--cb-brand", theme.color);
    root.appendChild(ui.launcher);
    root.appendChild(ui.panel);
    document.body.appendChild(root);

    ui.launcher.addEventListener("click", function () { setOpen(ui.panel.hidden); });
    ui.close.addEventListener("click", function () { setOpen(false); });
    ui.panel.addEventListener("keydown", function (event) { if (event.key === "Escape") setOpen(false); });
    form.addEventListener("submit", function (event) { event.preventDefault(); sendText(ui.input.value); });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); sendText(ui.input.value); }
    });
    ui.input.addEventListener("input", typingSignal);
    relabel();
    restoreTranscript();
    if (!ui.log.querySelector(".cb-msg")) showIntro();
  }

  // The first view: who answers (a bot), what is kept and for how long, how to reach a person,
  // and topics to start from. In the page's language; replaced when the language changes.
  function showIntro() {
    var old = ui.log.querySelector(".cb-intro");
    if (old) old.remove();
    var intro = el("div", { class: "cb-intro" });
    intro.appendChild(el("p", { class: "cb-intro-hello" }, t("intro_hello")));
    intro.appendChild(el("p", { class: "cb-notice" }, t("intro_notice")));
    var group = el("div", { class: "cb-replies", role: "group", "aria-label": t("suggestions_label") });
    SUGGESTIONS.forEach(function (item) {
      var b = el("button", { type: "button", class: "cb-reply" }, t(item[0]));
      b.addEventListener("click", function () { sendPayload(item[1], t(item[0])); ui.input.focus(); });
      group.appendChild(b);
    });
    intro.appendChild(group);
    ui.log.insertBefore(intro, ui.log.firstChild);
  }

  function relabel() {
    ui.panel.setAttribute("lang", state.lang);
    ui.launcher.setAttribute("lang", state.lang);
    ui.launcher.textContent = t("open_chat");
    ui.title.textContent = t("title");
    ui.close.textContent = "×";
    ui.close.setAttribute("aria-label", t("close_chat"));
    ui.langGroup.setAttribute("aria-label", t("language_label"));
    ui.log.setAttribute("aria-label", t("log_label"));
    ui.inputLabel.textContent = t("input_label");
    ui.send.textContent = t("send");
    if (theme.title) ui.title.textContent = theme.title;
    ui.accessibility.textContent = t("accessibility_link");
    ui.accessibility.setAttribute("href", theme.accessibility || base + "accessibility-" + state.lang + ".html");
    if (ui.log.querySelector(".cb-intro") && !ui.log.querySelector(".cb-msg")) showIntro();
    Array.prototype.forEach.call(ui.langGroup.children, function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
    });
  }

  function setOpen(open) {
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      connect();
      ui.input.focus();
    } else {
      ui.launcher.focus();
    }
  }

  function setStatus(key) {
    ui.status.textContent = key ? t(key) : "";
  }

  // Options of earlier replies are answered or superseded once anything new is said: they are
  // disabled (and say so to screen readers), so "cancel" cannot be pressed after an agent joined.
  function retireOptions() {
    Array.prototype.forEach.call(ui.log.querySelectorAll(".cb-reply:not([disabled])"), function (b) {
      b.disabled = true;
    });
  }

  function addMessage(who, text, lang, buttons, links, remember, agentName, card) {
    retireOptions();
    var item = el("div", { class: "cb-msg cb-" + who + (card && card.title ? " cb-card" : ""), lang: lang || state.lang });
    if (who === "agent") {
      var name = agentName || t("agent");
      var sender = el("span", { class: "cb-sender" });
      sender.appendChild(el("span", { class: "cb-avatar", "aria-hidden": "true" }, name.charAt(0).toUpperCase()));
      sender.appendChild(document.createTextNode(name + " · " + t("agent_role")));
      item.appendChild(sender);
    } else {
      item.appendChild(el("span", { class: "cb-visually-hidden" }, t(who === "user" ? "you" : "bot") + ": "));
    }
    if (card && card.title) {
      // An offer: its title and key facts first, then the message and clear actions.
      item.appendChild(el("p", { class: "cb-card-title" }, String(card.title)));
      var facts = el("dl", { class: "cb-facts" });
      (Array.isArray(card.facts) ? card.facts : []).forEach(function (fact) {
        var row = el("div", { class: "cb-fact" });
        row.appendChild(el("dt", {}, String(fact.label || "")));
        row.appendChild(el("dd", {}, String(fact.value || "")));
        facts.appendChild(row);
      });
      item.appendChild(facts);
    }
    var body = el("p", { class: "cb-text" });
    var parts = String(text || "").split(/(https?:\/\/[^\s<>"')]+)/);
    parts.forEach(function (part, i) {
      if (i % 2 === 1) {
        body.appendChild(el("a", { href: part, target: "_blank", rel: "noopener" }, part));
      } else {
        body.appendChild(document.createTextNode(part));
      }
    });
    item.appendChild(body);
    if (links && links.length) {
      var list = el("p", { class: "cb-links" });
      links.forEach(function (link) {
        var url = typeof link === "string" ? link : link.url;
        if (!/^https:\/\//.test(url || "")) return;
        var a = el("a", { href: url, target: "_blank", rel: "noopener" }, typeof link === "string" ? link : link.title || url);
        list.appendChild(a);
      });
      item.appendChild(list);
    }
    if (buttons && buttons.length) {
      var group = el("div", { class: "cb-replies", role: "group" });
      buttons.forEach(function (button, index) {
        var primary = card && card.title && index === 0; // an offer's first action (accept) stands out
        var b = el("button", { type: "button", class: "cb-reply" + (primary ? " cb-primary" : ""), lang: lang || state.lang }, button.title);
        b.addEventListener("click", function () {
          group.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          sendPayload(button.payload, button.title);
          ui.input.focus(); // the pressed option is disabled now: the keyboard goes on from the input
        });
        group.appendChild(b);
      });
      item.appendChild(group);
    }
    ui.log.appendChild(item);
    ui.log.scrollTop = ui.log.scrollHeight;
    if (who === "user") state.unanswered.push(item); else state.unanswered = [];
    if (remember !== false) {
      var log = JSON.parse(sessionStorage.getItem(STORE_LOG) || "[]");
      log.push({ who: who, text: text, lang: lang || state.lang, agent: agentName || null, links: links || null, card: card || null });
      sessionStorage.setItem(STORE_LOG, JSON.stringify(log.slice(-100)));
    }
  }

  function restoreTranscript() {
    JSON.parse(sessionStorage.getItem(STORE_LOG) || "[]").forEach(function (m) {
      addMessage(m.who, m.text, m.lang, null, m.links, false, m.agent, m.card);
    });
  }

  function connect() {
    if (state.socket) return;
    setStatus("connecting");
    state.socket = window.io(origin, { path: "/socket.io", transports: ["websocket"], reconnectionDelayMax: 5000 });
    state.socket.on("connect", function () {
      var request = {
        session_id: state.sessionId, resume_secret: state.secret, protocol: "citybot", language: state.lang,
      };
      // A signed-in citizen: the page passes the token its login service signed (verified server-side).
      var identity = script.dataset.identityToken || window.citybotIdentityToken;
      if (identity) request.identity_token = identity;
      state.socket.emit("session_request", request);
    });
    state.socket.on("session_confirm", function (confirmed) {
      state.confirmed = true;
      var sessionId = typeof confirmed === "string" ? confirmed : confirmed.session_id;
      if (sessionId !== state.sessionId) {
        // A new conversation (a first visit, or the old one could not be resumed): forget the
        // old transcript, so a shared computer never shows the previous person's chat.
        sessionStorage.removeItem(STORE_LOG);
      }
      state.sessionId = sessionId;
      localStorage.setItem(STORE_SESSION, state.sessionId);
      if (confirmed && confirmed.resume_secret) {
        state.secret = confirmed.resume_secret;
        localStorage.setItem(STORE_SECRET, state.secret);
      }
      setStatus(state.everConnected && state.dropped ? "reconnected" : null);
      state.dropped = false;
      state.everConnected = true;
      state.failures = 0;
      var queued = state.pending.splice(0);
      queued.forEach(function (item) { emit(item[0], item[1], item[2]); });
    });
    state.socket.on("bot_uttered", function (reply) {
      if (reply.reply_to !== undefined) {
        var key = reply.reply_to + "#" + reply.index;
        if (state.shown.indexOf(key) >= 0) return; // already shown: the answer to a resent message
        state.shown.push(key);
        if (state.shown.length > 200) state.shown.shift();
      }
      hideTyping();
      if (reply.lang && pickLang(reply.lang) && reply.lang !== state.lang) {
        state.lang = reply.lang;
        localStorage.setItem(STORE_LANG, state.lang);
        relabel();
      }
      if (reply.lang && pickLang(reply.lang)) retagUnanswered(reply.lang);
      if (reply.control === "agent_joined") setWithAgent(true);
      if (reply.control === "handoff_ended" || reply.control === "requeued") setWithAgent(false);
      var who = reply.sender === "agent" ? "agent" : "bot";
      if (who === "agent") setWithAgent(true);
      addMessage(who, reply.text, reply.lang, reply.quick_replies || reply.buttons, reply.links, true, reply.agent_name, reply.card);
    });
    state.socket.on("agent_typing", function () {
      showTyping("agent_typing", 6000);
    });
    state.socket.on("chat_error", function (error) {
      hideTyping();
      var key = "error_" + (error && error.code);
      setStatus(state.strings[key] ? key : "error_other");
      if (error && (error.code === "unavailable" || error.code === "rate_limited") && !ui.input.value) {
        ui.input.value = state.lastSent; // nothing the citizen wrote is lost
      }
    });
    state.socket.on("disconnect", function () {
      // Messages sent but not acknowledged may not have been answered (the server replica died):
      // they go again, first, with their ids; the server answers each once (docs/operations.md).
      var unacknowledged = Object.keys(state.inflight).map(function (id) {
        return [state.inflight[id][0], state.inflight[id][1], id];
      });
      state.inflight = {};
      state.pending = unacknowledged.concat(state.pending);
      state.confirmed = false;
      state.dropped = true;
      setStatus("reconnecting");
    });
    state.socket.on("connect_error", function () {
      state.failures += 1;
      state.dropped = true;
      hideTyping();
      setStatus(state.failures >= 3 ? "unreachable" : "reconnecting");
    });
  }

  function newMessageId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function emit(message, extra, id) {
    id = id || newMessageId();
    if (!state.socket || !state.socket.connected || !state.sessionId || !state.confirmed) {
      state.pending.push([message, extra, id]);
      if (state.everConnected || state.failures) setStatus(state.failures >= 3 ? "unreachable" : "reconnecting");
      return true;
    }
    var customData = { language: state.lang };
    Object.keys(extra || {}).forEach(function (k) { customData[k] = extra[k]; });
    state.inflight[id] = [message, extra];
    state.socket.emit(
      "user_uttered",
      { message: message, session_id: state.sessionId, customData: customData, message_id: id },
      function () { delete state.inflight[id]; } // answered, or refused with a chat_error
    );
    if (!state.withAgent) showTyping("typing", 15000); // an agent's answer takes its own time
    return true;
  }

  // A message is shown at once in the widget's language; the bot's reply says which language the
  // citizen actually wrote in (it follows what they write), so their messages get that lang.
  function retagUnanswered(lang) {
    var changed = state.unanswered.filter(function (item) { return item.getAttribute("lang") !== lang; });
    if (!changed.length) return;
    changed.forEach(function (item) { item.setAttribute("lang", lang); });
    var log = JSON.parse(sessionStorage.getItem(STORE_LOG) || "[]");
    for (var i = log.length - 1, n = changed.length; i >= 0 && n > 0; i--) {
      if (log[i].who === "user") { log[i].lang = lang; n--; }
    }
    sessionStorage.setItem(STORE_LOG, JSON.stringify(log));
  }

  function showTyping(key, forMs) {
    // The line takes room from the log: a log read to its end stays at its end (the last
    // message is not pushed out of sight under the indicator).
    var atEnd = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 8;
    ui.typing.textContent = t(key);
    ui.typing.hidden = false;
    if (atEnd) ui.log.scrollTop = ui.log.scrollHeight;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, forMs); // never left on when no answer comes
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    ui.typing.hidden = true;
  }

  function setWithAgent(value) {
    state.withAgent = value;
    sessionStorage.setItem("citybot.withAgent", value ? "1" : "0");
  }

  function typingSignal() {
    // Only a person sees this: the server passes it on only while an agent holds the conversation.
    var now = Date.now();
    if (!state.withAgent || now - state.lastTyping < 2000) return;
    state.lastTyping = now;
    if (state.socket && state.socket.connected && state.confirmed) state.socket.emit("user_typing", {});
  }

  function sendText(value) {
    var text = String(value || "").trim();
    if (!text) return;
    if (emit(text)) {
      state.lastSent = text;
      addMessage("user", text, state.lang);
      ui.input.value = "";
      setStatus(null);
    }
  }

  function sendPayload(payload, title) {
    if (emit(payload)) addMessage("user", title, state.lang);
  }

  function chooseLanguage(code) {
    state.lang = code;
    localStorage.setItem(STORE_LANG, code);
    relabel();
    emit('/change_language{"language": "' + code + '"}', { language_choice: code });
  }

  Promise.all([
    fetch(base + "strings.json").then(function (r) { return r.json(); }),
    window.io ? Promise.resolve() : loadScript(base + "vendor/socket.io.min.js"),
  ]).then(function (results) {
    state.strings = results[0];
    build();
    if (script.dataset.open === "true") setOpen(true);
  }).catch(function () {
    var note = el("p", { class: "cb-offline", role: "status" },
      "Chat ei ole käytettävissä / Chatten är inte tillgänglig / The chat is not available.");
    document.body.appendChild(note);
  });
})();
