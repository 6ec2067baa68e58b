// Demo page only: pass ?identity=<token> on to the widget, as a city's login would.
(function () {
  "use strict";
  var token = new URLSearchParams(window.location.search).get("identity");
  if (token) window.citybotIdentityToken = token;
})();
