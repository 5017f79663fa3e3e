// hoidap chat bubble. Add to any intranet page:
//   <script src="http://HOST:PORT/widget.js" defer></script>
// Options on that tag: data-position="left|right" (default right), data-title="…" (default: HOIDAP_TITLE),
// data-color="#rrggbb" (default: HOIDAP_BRAND_COLOR), data-open="true" (open on load).
// The page's origin must be in HOIDAP_ALLOWED_ORIGINS; when it is not, the panel says so instead of
// showing an empty frame.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__hoidapWidget) return;
  window.__hoidapWidget = true;

  var COLOR = /^#[0-9a-fA-F]{6}$/;
  var server = new URL(".", script.src);
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var givenTitle = (script.getAttribute("data-title") || "").trim();
  var givenColor = (script.getAttribute("data-color") || "").trim();
  if (givenColor && !COLOR.test(givenColor)) {
    if (window.console) window.console.warn("hoidap: data-color=\"" + givenColor + "\" không hợp lệ; dùng dạng #1d4ed8.");
    givenColor = "";
  }
  var title = givenTitle || "Hỏi đáp tài liệu";
  var color = (givenColor || "#1d4ed8").toLowerCase();
  var openOnLoad = script.getAttribute("data-open") === "true";
  var dark = !!(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  var z = "2147483000";
  var state = "loading"; // then "ready" (config read) or "failed" (server away)
  var config = null;

  function style(node, rules) {
    Object.keys(rules).forEach(function (key) { node.style.setProperty(key, rules[key], "important"); });
  }

  function luminance(hex) {
    var channels = [1, 3, 5].map(function (i) {
      var c = parseInt(hex.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  }

  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  // White or near-black, whichever reads better on the brand colour.
  function textOn(background) {
    return contrast(background, "#ffffff") >= contrast(background, "#111827") ? "#ffffff" : "#111827";
  }

  var button = document.createElement("button");
  button.type = "button";
  button.id = "hoidap-bubble";
  button.setAttribute("aria-expanded", "false");
  style(button, {
    position: "fixed", bottom: "20px", width: "56px", height: "56px", "border-radius": "50%",
    border: "0", padding: "0", margin: "0", cursor: "pointer",
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
  var frame = document.createElement("iframe");
  frame.setAttribute("allow", "clipboard-write");
  panel.appendChild(frame);

  // What the panel shows instead of the frame: while the settings load, when the server is away,
  // and when this page may not use the widget (the frame would be refused: a blank box).
  var bar = document.createElement("div");
  var barTitle = document.createElement("span");
  var barClose = document.createElement("button");
  barClose.type = "button";
  barClose.textContent = "×";
  barClose.setAttribute("aria-label", "Đóng");
  barClose.title = "Đóng (Esc)";
  bar.appendChild(barTitle);
  bar.appendChild(barClose);
  var status = document.createElement("p");
  status.id = "hoidap-status";
  status.setAttribute("role", "status");
  var blocked = document.createElement("p");
  blocked.id = "hoidap-blocked";
  blocked.setAttribute("role", "alert");
  panel.appendChild(bar);
  panel.appendChild(status);
  panel.appendChild(blocked);
  var textColor = dark ? "#f3f4f6" : "#1f2937";
  var pageColor = dark ? "#111827" : "#ffffff";
  style(barTitle, { "font-weight": "600", "font-size": "15px", overflow: "hidden", "text-overflow": "ellipsis",
                    "white-space": "nowrap" });
  style(barClose, { border: "0", background: "transparent", color: "inherit", "font-size": "22px",
                    "line-height": "1", cursor: "pointer", padding: "0 4px", margin: "0" });
  [status, blocked].forEach(function (node) {
    style(node, { margin: "0", padding: "16px", color: textColor, background: pageColor, "font-size": "14px",
                  "line-height": "1.5", "text-align": "left" });
  });

  function paint() {
    var ink = textOn(color);
    style(button, { background: color, color: ink });
    style(bar, { display: "flex", "align-items": "center", "justify-content": "space-between", gap: "8px",
                 padding: "10px 12px", background: color, color: ink });
    button.title = title;
    button.setAttribute("aria-label", title);
    panel.setAttribute("aria-label", title);
    frame.title = title;
    barTitle.textContent = title;
  }

  function show(node, visible) {
    node.style.setProperty("display", visible ? (node === bar ? "flex" : "block") : "none", "important");
  }

  function frameUrl() {
    var url = new URL("widget", server);
    url.searchParams.set("title", title);
    url.searchParams.set("color", color);
    return url.toString();
  }

  // What the open panel holds, by the state of the settings read from <server>/widget/config.
  function fill() {
    var allowed = state === "ready" && config.allowed !== false;
    var refused = state === "ready" && !allowed;
    show(frame, allowed);
    show(bar, !allowed);
    show(status, state !== "ready");
    show(blocked, refused);
    if (state === "loading") status.textContent = "Đang kết nối máy chủ hỏi đáp…";
    if (state === "failed") {
      status.textContent = "Không kết nối được máy chủ hỏi đáp (" + server.origin + "). Hãy thử lại sau; "
        + "nếu vẫn lỗi, báo quản trị viên kiểm tra máy chủ hoidap.";
    }
    if (refused) {
      blocked.textContent = config.message ||
        "Trang này chưa được phép dùng trợ lý hỏi đáp. Quản trị viên thêm địa chỉ trang vào HOIDAP_ALLOWED_ORIGINS.";
    }
    // Refused too: the frame stays hidden, but the browser's console then names the frame-ancestors
    // rule that refused it, for the site's developer.
    if (state === "ready" && !frame.src) frame.src = frameUrl();
  }

  function loadConfig() {
    state = "loading";
    var url = new URL("widget/config", server);
    return fetch(url.toString(), { cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (!data || typeof data !== "object") throw new Error("not an object");
        config = data;
        state = "ready";
        if (!givenTitle && typeof data.title === "string" && data.title.trim()) title = data.title.trim();
        if (!givenColor && typeof data.color === "string" && COLOR.test(data.color)) color = data.color.toLowerCase();
        paint();
      })
      .catch(function () { state = "failed"; })
      .then(function () { if (!panel.hidden) fill(); });
  }

  function layout() {
    var phone = window.innerWidth <= 480;
    var rules = phone
      ? { top: "0", bottom: "0", left: "0", right: "0", width: "100%", height: "100%", "border-radius": "0" }
      : { bottom: "88px", width: "380px", height: "600px", "max-width": "calc(100vw - 24px)",
          "max-height": "calc(100vh - 108px)", "border-radius": "12px", top: "auto" };
    panel.removeAttribute("style");
    style(panel, {
      position: "fixed", "z-index": z, overflow: "hidden", background: pageColor,
      "box-shadow": "0 8px 30px rgba(0,0,0,.3)", display: panel.hidden ? "none" : "block",
      "font-family": "system-ui, 'Segoe UI', Roboto, 'Noto Sans', Arial, sans-serif",
    });
    style(panel, rules);
    if (!phone) panel.style.setProperty(side, "20px", "important");
    button.style.setProperty("display", phone && !panel.hidden ? "none" : "flex", "important");
  }

  // Put the keyboard in the question box of the widget.
  var frameLoaded = false;
  function focusFrame() {
    if (!frameLoaded || state !== "ready" || config.allowed === false || !frame.contentWindow) return;
    frame.focus();
    frame.contentWindow.postMessage({ type: "hoidap:open" }, server.origin);
  }

  function open() {
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    layout();
    if (state === "failed") loadConfig();
    fill();
    if (state === "ready" && config.allowed !== false) focusFrame();
    else barClose.focus();
  }

  function close() {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    layout();
    button.focus();
  }

  frame.addEventListener("load", function () {
    frameLoaded = true;
    if (!panel.hidden) focusFrame();
  });
  button.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  barClose.addEventListener("click", close);
  window.addEventListener("message", function (event) {
    if (event.origin === server.origin && event.source === frame.contentWindow &&
        event.data && event.data.type === "hoidap:close") close();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) close();
  });
  window.addEventListener("resize", layout);

  paint();
  style(frame, { width: "100%", height: "100%", border: "0", background: pageColor });
  panel.hidden = true;
  document.body.appendChild(panel);
  document.body.appendChild(button);
  layout();
  fill();
  loadConfig();
  if (openOnLoad) open();
})();
