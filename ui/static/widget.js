// hoidap chat bubble. Add to any intranet page:
//   <script src="http://HOST:PORT/widget.js" defer></script>
// Options on that tag: data-position="left|right" (default right), data-title="…",
// data-open="true" (open on load). The page's origin must be in HOIDAP_ALLOWED_ORIGINS.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__hoidapWidget) return;
  window.__hoidapWidget = true;

  var server = new URL(".", script.src);
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var title = script.getAttribute("data-title") || "Hỏi đáp tài liệu";
  var openOnLoad = script.getAttribute("data-open") === "true";
  var frameUrl = new URL("widget", server);
  frameUrl.searchParams.set("title", title);
  var z = "2147483000";

  function style(node, rules) {
    Object.keys(rules).forEach(function (key) { node.style.setProperty(key, rules[key], "important"); });
  }

  var button = document.createElement("button");
  button.type = "button";
  button.id = "hoidap-bubble";
  button.title = title;
  button.setAttribute("aria-label", title);
  button.setAttribute("aria-expanded", "false");
  style(button, {
    position: "fixed", bottom: "20px", width: "56px", height: "56px", "border-radius": "50%",
    border: "0", padding: "0", margin: "0", cursor: "pointer", background: "#1d4ed8", color: "#fff",
    "box-shadow": "0 4px 14px rgba(0,0,0,.25)", "z-index": z, display: "flex",
    "align-items": "center", "justify-content": "center",
  });
  button.style.setProperty(side, "20px", "important");

  var svgNS = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(svgNS, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("width", "28");
  icon.setAttribute("height", "28");
  icon.setAttribute("aria-hidden", "true");
  var path = document.createElementNS(svgNS, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z");
  icon.appendChild(path);
  button.appendChild(icon);

  var panel = document.createElement("div");
  panel.id = "hoidap-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var frame = document.createElement("iframe");
  frame.title = title;
  frame.setAttribute("allow", "clipboard-write");
  style(frame, { width: "100%", height: "100%", border: "0", display: "block", background: "#fff" });
  panel.appendChild(frame);

  function layout() {
    var phone = window.innerWidth <= 480;
    var rules = phone
      ? { top: "0", bottom: "0", left: "0", right: "0", width: "100%", height: "100%", "border-radius": "0" }
      : { bottom: "88px", width: "380px", height: "600px", "max-width": "calc(100vw - 24px)",
          "max-height": "calc(100vh - 108px)", "border-radius": "12px", top: "auto" };
    panel.removeAttribute("style");
    style(panel, {
      position: "fixed", "z-index": z, overflow: "hidden", background: "#fff",
      "box-shadow": "0 8px 30px rgba(0,0,0,.3)", display: panel.hidden ? "none" : "block",
    });
    style(panel, rules);
    if (!phone) panel.style.setProperty(side, "20px", "important");
    button.style.setProperty("display", phone && !panel.hidden ? "none" : "flex", "important");
  }

  function open() {
    if (!frame.src) frame.src = frameUrl.toString();
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    layout();
  }

  function close() {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    layout();
    button.focus();
  }

  button.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  window.addEventListener("message", function (event) {
    if (event.origin === server.origin && event.source === frame.contentWindow &&
        event.data && event.data.type === "hoidap:close") close();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) close();
  });
  window.addEventListener("resize", layout);

  panel.hidden = true;
  document.body.appendChild(panel);
  document.body.appendChild(button);
  layout();
  if (openOnLoad) open();
})();
