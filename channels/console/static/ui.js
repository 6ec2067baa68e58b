// What the console and the supervisors' dashboard share: their languages, the agent's stored
// choices, texts in the chosen language and building elements. Loaded before either page's script.
(function () {
  "use strict";

  var LANGS = ["fi", "sv", "en"];

  function pickLang(value) {
    var code = String(value || "").slice(0, 2).toLowerCase();
    return LANGS.indexOf(code) >= 0 ? code : null;
  }

  window.CitybotUi = {
    LANGS: LANGS,
    LOCALES: { fi: "fi-FI", sv: "sv-FI", en: "en-GB" },
    STORE_LANG: "citybot.console.lang",  // one choice of language for both pages

    $: function (id) { return document.getElementById(id); },
    pickLang: pickLang,

    stored: function (key) {
      try { return localStorage.getItem(key); } catch (e) { return null; }
    },
    store: function (key, value) {
      try { localStorage.setItem(key, value); } catch (e) { /* private mode: not remembered */ }
    },

    // The text of ``key`` in ``lang`` (else English, else the key), "{name}" filled from params.
    translate: function (strings, lang, key, params) {
      var entry = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : null;
      var text = entry ? entry[lang] || entry.en || key : key;
      Object.keys(params || {}).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(params[name]));
      });
      return text;
    },

    el: function (tag, attrs, text) {
      var node = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (name) {
        if (attrs[name] !== undefined && attrs[name] !== null) node.setAttribute(name, attrs[name]);
      });
      if (text !== undefined && text !== null) node.textContent = text;
      return node;
    },
    clear: function (node) { while (node.firstChild) node.removeChild(node.firstChild); }
  };
})();
