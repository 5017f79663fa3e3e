// The compact chat of /widget. Everything from the server is shown with textContent, never as HTML.
// Colours come in as CSS custom properties set on <html> (the page's CSP allows no inline style attributes).
(function () {
  "use strict";

  var root = document.documentElement;
  var log = document.getElementById("hd-log");
  var form = document.getElementById("hd-form");
  var input = document.getElementById("hd-question");
  var send = document.getElementById("hd-send");
  var clearButton = document.getElementById("hd-clear");
  var copyButton = document.getElementById("hd-copy");
  var closeButton = document.getElementById("hd-close");
  var notice = document.getElementById("hd-notice");
  var formMessage = document.getElementById("hd-form-message");
  var params = new URLSearchParams(window.location.search);
  var inFrame = window.parent !== window;
  var busy = false;
  var maxChars = 2000; // replaced by max_question_chars of /widget/config
  var examples = [];
  var lastAnswer = null; // what #hd-copy copies
  var answerSeq = 0; // answers shown in the log: source ids are hd-src-<answer>-<n>

  var NETWORK_ERROR = "Không kết nối được máy chủ hỏi đáp; thử lại sau.";
  // Above an answer of outcome "closest": the documents only come near the question, and the reader sees so.
  var CLOSEST_LABEL = "Chưa có câu trả lời chắc chắn";
  var COLOR = /^#[0-9a-fA-F]{6}$/;

  // ------------------------------------------------------------------ brand colour and title

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
  function textOn(color) {
    return contrast(color, "#ffffff") >= contrast(color, "#111827") ? "#ffffff" : "#111827";
  }

  function mix(a, b, t) {
    var out = "#";
    for (var i = 1; i < 7; i += 2) {
      var x = Math.round(parseInt(a.substr(i, 2), 16) * (1 - t) + parseInt(b.substr(i, 2), 16) * t);
      out += (x < 16 ? "0" : "") + x.toString(16);
    }
    return out;
  }

  // The brand colour, darkened (or lightened) just enough to read as link text on every background given.
  function readable(color, backgrounds, toward) {
    for (var t = 0; t <= 1; t += 0.05) {
      var c = mix(color, toward, t);
      if (backgrounds.every(function (bg) { return contrast(c, bg) >= 4.6; })) return c;
    }
    return toward;
  }

  function applyBrand(color) {
    color = color.toLowerCase();
    root.style.setProperty("--hd-brand", color);
    root.style.setProperty("--hd-on-brand", textOn(color));
    root.style.setProperty("--hd-link-light", readable(color, ["#ffffff", "#f3f4f6"], "#000000"));
    root.style.setProperty("--hd-link-dark", readable(color, ["#1f2937", "#111827", "#0b1220"], "#ffffff"));
    root.setAttribute("data-brand", color);
  }

  function applyTitle(title) {
    document.getElementById("hd-title").textContent = title;
    document.title = title;
  }

  var urlColor = params.get("color") || "";
  urlColor = COLOR.test(urlColor) ? urlColor : "";
  if (urlColor) applyBrand(urlColor);
  var urlTitle = (params.get("title") || "").trim();
  if (urlTitle) applyTitle(urlTitle);

  // ------------------------------------------------------------------ closing (inside the loader's panel)

  function closeWidget() {
    window.parent.postMessage({ type: "hoidap:close" }, "*");
  }

  if (inFrame) {
    closeButton.hidden = false;
    closeButton.addEventListener("click", closeWidget);
    // Esc anywhere in the widget closes it; the loader then gives the focus back to the bubble.
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !event.isComposing) {
        event.preventDefault();
        closeWidget();
      }
    });
    window.addEventListener("message", function (event) {
      if (event.source === window.parent && event.data && event.data.type === "hoidap:open") input.focus();
    });
  }

  // ------------------------------------------------------------------ building blocks

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function button(className, text, label) {
    var node = el("button", className, text);
    node.type = "button";
    if (label) {
      node.setAttribute("aria-label", label);
      node.title = label;
    }
    return node;
  }

  function smooth() {
    return !(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  // A finished answer is read from its top: bring the question that asked it to the top of the log.
  function scrollToTurn(questionBubble) {
    if (!questionBubble.parentNode) return;
    log.scrollTop += questionBubble.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
  }

  function displayDate(date) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date || "");
    return m ? m[3] + "/" + m[2] + "/" + m[1] : date || "";
  }

  // ------------------------------------------------------------------ the form's message

  var messageKind = null; // "length": the question is too long; "server": the server refused it

  function showFormMessage(text, kind) {
    formMessage.textContent = text;
    formMessage.hidden = false;
    messageKind = kind;
    input.setAttribute("aria-invalid", "true");
  }

  function hideFormMessage() {
    formMessage.hidden = true;
    formMessage.textContent = "";
    messageKind = null;
    input.removeAttribute("aria-invalid");
  }

  function tooLong(length) {
    return "Câu hỏi dài " + length + " ký tự, quá giới hạn " + maxChars + " ký tự. Hãy rút gọn rồi gửi lại.";
  }

  function inputChanged() {
    clearButton.hidden = input.value === "";
    var length = input.value.trim().length;
    if (length > maxChars) showFormMessage(tooLong(length), "length");
    else if (messageKind) hideFormMessage();
  }

  input.addEventListener("input", inputChanged);

  clearButton.addEventListener("click", function () {
    input.value = "";
    inputChanged();
    input.focus();
  });

  // ------------------------------------------------------------------ an answer

  // The engine's answer: paragraphs and "- " bullet lines (with `quotes`, "> " lines: the passages of a
  // "closest" answer, shown as quotes), its [n] markers links to the sources.
  function renderAnswer(text, cited, seq, quotes) {
    var box = el("div", "answer");
    var list = null;
    text.split("\n").forEach(function (line) {
      var node;
      if (quotes && /^> /.test(line)) {
        list = null;
        node = box.appendChild(el("blockquote", "said"));
        line = line.slice(2);
      } else if (/^\s*- /.test(line)) {
        if (!list) list = box.appendChild(el("ul"));
        node = list.appendChild(el("li"));
        line = line.replace(/^\s*- /, "");
      } else {
        list = null;
        if (!line.trim()) return;
        node = box.appendChild(el("p"));
      }
      var marker = /\[(\d+)\]/g;
      var at = 0;
      var m;
      while ((m = marker.exec(line)) !== null) {
        if (!cited[m[1]]) continue;
        if (m.index > at) node.appendChild(document.createTextNode(line.slice(at, m.index)));
        node.appendChild(citeLink(m[1], seq));
        at = m.index + m[0].length;
      }
      if (at < line.length) node.appendChild(document.createTextNode(line.slice(at)));
    });
    return box;
  }

  function citeLink(n, seq) {
    var id = "hd-src-" + seq + "-" + n;
    var link = el("a", "cite", "[" + n + "]");
    link.href = "#" + id;
    link.setAttribute("aria-label", "Nguồn " + n);
    link.addEventListener("click", function (event) {
      event.preventDefault();
      showSource(id);
    });
    return link;
  }

  // Scroll the log (only the log: never the page around the frame) to a source and highlight it.
  function showSource(id) {
    var target = document.getElementById(id);
    if (!target) return;
    Array.prototype.forEach.call(log.querySelectorAll(".source.highlight"), function (node) {
      node.classList.remove("highlight");
    });
    target.classList.add("highlight");
    var top = log.scrollTop + target.getBoundingClientRect().top - log.getBoundingClientRect().top;
    top -= Math.max(8, (log.clientHeight - target.offsetHeight) / 2);
    log.scrollTo({ top: Math.max(0, top), behavior: smooth() ? "smooth" : "auto" });
    target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
  }

  function copyText(data) {
    var lines = [data.answer];
    if (data.citations && data.citations.length) {
      lines.push("", "Nguồn:");
      data.citations.forEach(function (c) {
        lines.push("[" + c.n + "] " + c.title + (c.date ? ", " + displayDate(c.date) : "") + " — " + c.doc);
        lines.push("    “" + c.quote + "”");
      });
    }
    return lines.join("\n");
  }

  function copy(text, target) {
    function fallback() {
      var area = document.createElement("textarea");
      area.value = text;
      area.className = "offscreen";
      area.setAttribute("readonly", "");
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
      area.remove();
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).catch(fallback);
    } else {
      fallback();
    }
    target.textContent = "Đã sao chép";
    setTimeout(function () { target.textContent = "Sao chép"; }, 1500);
  }

  // The sources, one group per document: its title once, then each quote marked with its [n].
  function renderSources(citations, seq) {
    var box = el("div", "sources");
    box.appendChild(el("div", "sources-head", "Nguồn"));
    var groups = {};
    var order = [];
    citations.forEach(function (c) {
      if (!groups[c.doc]) {
        groups[c.doc] = [];
        order.push(c.doc);
      }
      groups[c.doc].push(c);
    });
    order.forEach(function (doc) {
      var first = groups[doc][0];
      var group = el("div", "source-group");
      groups[doc].forEach(function (c, i) {
        var item = el("div", "source");
        item.id = "hd-src-" + seq + "-" + c.n;
        if (i === 0) {
          // The document's title and date once, at the top of its first quote.
          item.appendChild(el("div", "source-title", first.title || doc));
          item.appendChild(el("div", "meta", [displayDate(first.date), doc].filter(Boolean).join(" · ")));
        }
        var head = el("div", "source-head");
        head.appendChild(el("span", "n", "[" + c.n + "]"));
        var place = [c.page ? "tr. " + c.page : "", c.section || ""].filter(Boolean).join(" · ");
        if (place) head.appendChild(el("span", "place", place));
        item.appendChild(head);
        item.appendChild(el("blockquote", "quote", c.quote));
        var link = el("a", "open", "Mở toàn văn");
        link.href = "document?" + new URLSearchParams({ doc: c.doc, start: c.start, end: c.end }).toString() + "#trich-dan";
        link.target = "_blank";
        link.rel = "noopener";
        item.appendChild(link);
        group.appendChild(item);
      });
      box.appendChild(group);
    });
    return box;
  }

  function postFeedback(body) {
    return fetch("api/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.ok && data && data.ok) return null;
        return (data && data.error) || "Không gửi được góp ý (máy chủ trả lời mã " + response.status + ").";
      }, function () {
        return "Không gửi được góp ý (máy chủ trả lời mã " + response.status + ").";
      });
    }, function () {
      return NETWORK_ERROR;
    });
  }

  // A thumb drawn as SVG (an emoji font may be missing on office machines): up, or turned down.
  function thumb(down) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var shape = document.createElementNS(ns, "path");
    shape.setAttribute("fill", "currentColor");
    shape.setAttribute("d", "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06"
      + "L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05"
      + "c.09-.23.14-.47.14-.73v-2z");
    if (down) shape.setAttribute("transform", "rotate(180 12 12)");
    svg.appendChild(shape);
    return svg;
  }

  // 👍/👎 under an answer: the rating is sent at once; a comment box then offers "Gửi góp ý".
  function addFeedback(actions, bubble, conversationId, turn) {
    var rating = 0;
    var comment = null; // the comment sent already: a later change of rating keeps it
    var queue = Promise.resolve(); // one request at a time, so an older one never overwrites a newer one
    var area = null;
    var problem = null;

    function sendNow(body) {
      queue = queue.then(function () { return postFeedback(body); });
      return queue;
    }

    function say(text) {
      if (!problem) problem = el("p", "feedback-error");
      problem.setAttribute("role", "alert");
      problem.textContent = text;
      (area || bubble).appendChild(problem);
    }

    function openComment() {
      if (area) return;
      area = el("div", "feedback");
      var box = el("textarea");
      box.rows = 2;
      box.maxLength = 2000;
      box.placeholder = "Góp ý thêm (không bắt buộc)…";
      box.setAttribute("aria-label", "Góp ý về câu trả lời (không bắt buộc)");
      var submit = button("feedback-send", "Gửi góp ý");
      submit.addEventListener("click", function () {
        submit.disabled = true;
        var text = box.value.trim();
        sendNow({ conversation: conversationId, turn: turn, rating: rating, comment: text }).then(function (failed) {
          if (failed) {
            submit.disabled = false;
            say(failed);
            return;
          }
          comment = text;
          area.textContent = "";
          var thanks = area.appendChild(el("p", "thanks", "Cảm ơn góp ý của bạn."));
          thanks.setAttribute("role", "status");
        });
      });
      area.appendChild(box);
      area.appendChild(submit);
      bubble.appendChild(area);
      box.focus();
    }

    function rate(value, pressed, other) {
      rating = value;
      pressed.setAttribute("aria-pressed", "true");
      other.setAttribute("aria-pressed", "false");
      var body = { conversation: conversationId, turn: turn, rating: value };
      if (comment) body.comment = comment;
      sendNow(body).then(function (failed) {
        if (failed) say(failed);
        else if (problem && problem.parentNode) problem.remove();
      });
      if (comment === null) openComment();
    }

    var up = button("rate up", null, "Câu trả lời hữu ích");
    var down = button("rate down", null, "Câu trả lời chưa đúng");
    up.appendChild(thumb(false));
    down.appendChild(thumb(true));
    up.setAttribute("aria-pressed", "false");
    down.setAttribute("aria-pressed", "false");
    up.addEventListener("click", function () { rate(1, up, down); });
    down.addEventListener("click", function () { rate(-1, down, up); });
    actions.appendChild(up);
    actions.appendChild(down);
  }

  // A turn stored before outcomes were told apart was answered or refused.
  function outcomeOf(data) {
    return data.outcome || (data.refused ? "none" : "answer");
  }

  // `turn`: the answer's number in its conversation (1 = first), for feedback; null when it has none.
  function showAnswer(bubble, data, conversationId, turn) {
    var seq = ++answerSeq;
    var closest = outcomeOf(data) === "closest";
    var citations = data.citations || [];
    var cited = {};
    citations.forEach(function (c) { cited[c.n] = true; });
    bubble.textContent = "";
    bubble.classList.remove("searching");
    bubble.setAttribute("data-turn", turn || "");
    bubble.setAttribute("data-outcome", outcomeOf(data));
    bubble.classList.toggle("closest", closest);
    if (data.understood_as) {
      // A follow-up was searched as a standalone question: say which, so nobody is answered unawares.
      bubble.appendChild(el("p", "understood", "Hiểu câu hỏi là: " + data.understood_as));
    }
    if (closest) bubble.appendChild(el("p", "closest-label", CLOSEST_LABEL));
    bubble.appendChild(renderAnswer(data.answer || "", cited, seq, closest));
    if (citations.length) bubble.appendChild(renderSources(citations, seq));
    var actions = bubble.appendChild(el("div", "actions"));
    if (conversationId && turn) addFeedback(actions, bubble, conversationId, turn);
    var copyOne = button("copy", "Sao chép", "Sao chép câu trả lời này");
    copyOne.addEventListener("click", function () { copy(copyText(data), copyOne); });
    actions.appendChild(copyOne);
    lastAnswer = data;
    copyButton.disabled = false;
  }

  function showError(bubble, message) {
    bubble.textContent = "";
    bubble.classList.remove("searching");
    bubble.classList.add("error");
    bubble.setAttribute("role", "alert");
    bubble.textContent = message;
  }

  copyButton.addEventListener("click", function () {
    if (lastAnswer) copy(copyText(lastAnswer), copyButton);
  });

  // ------------------------------------------------------------------ an empty conversation: examples

  function showExamples() {
    var old = log.querySelector(".examples-box");
    if (old) old.remove();
    if (!examples.length || log.querySelector(".msg")) return;
    var box = el("div", "examples-box");
    box.appendChild(el("p", "examples-head", "Câu hỏi mẫu"));
    var list = box.appendChild(el("ul", "examples"));
    examples.forEach(function (question) {
      var item = list.appendChild(el("li"));
      var pick = item.appendChild(button("example", question));
      pick.addEventListener("click", function () {
        if (busy) return;
        input.value = question;
        inputChanged();
        ask(question);
      });
    });
    log.appendChild(box);
  }

  function hideExamples() {
    var old = log.querySelector(".examples-box");
    if (old) old.remove();
  }

  // ------------------------------------------------------------------ the conversation

  // The conversation lives on the server; this tab keeps its id, so a reload shows it again.
  var STORED = "hoidap-conversation";
  var conversation = null;
  var turns = 0; // answered turns of `conversation`, restored ones included: the feedback's turn number
  try { conversation = window.sessionStorage.getItem(STORED); } catch (e) { conversation = null; }

  function remember(id) {
    conversation = id || null;
    try {
      if (conversation) window.sessionStorage.setItem(STORED, conversation);
      else window.sessionStorage.removeItem(STORED);
    } catch (e) { /* storage off: the conversation lasts until a reload */ }
  }

  function restore() {
    if (!conversation) return Promise.resolve();
    busy = true; // a question asked now would land before the restored turns
    return fetch("api/conversations/" + encodeURIComponent(conversation))
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (found) {
        if (!found || !found.turns || !found.turns.length) { remember(null); return; }
        hideExamples();
        var lastQuestion = null;
        found.turns.forEach(function (turn, i) {
          lastQuestion = log.appendChild(el("div", "msg user", turn.question));
          showAnswer(log.appendChild(el("div", "msg bot", "")), turn, found.id || conversation, i + 1);
        });
        turns = found.turns.length;
        if (lastQuestion) scrollToTurn(lastQuestion);
      })
      .catch(function () { /* the server is away: start afresh */ })
      .then(function () { busy = false; });
  }

  document.getElementById("hd-new").addEventListener("click", function () {
    if (busy) return;
    remember(null);
    turns = 0;
    answerSeq = 0;
    lastAnswer = null;
    copyButton.disabled = true;
    log.textContent = "";
    log.appendChild(el("p", "hint", "Cuộc trò chuyện mới: câu hỏi tiếp theo không dựa vào các câu trước."));
    showExamples();
    input.focus();
  });

  function readReply(response) {
    return response.json().then(
      function (data) { return { ok: response.ok, status: response.status, data: data || {} }; },
      function () { return { ok: false, status: response.status, data: {} }; }
    );
  }

  function ask(question) {
    if (busy) return;
    if (question.length > maxChars) {
      showFormMessage(tooLong(question.length), "length");
      input.focus();
      return;
    }
    hideFormMessage();
    hideExamples();
    busy = true;
    send.disabled = true;
    var asked = log.appendChild(el("div", "msg user", question));
    var bubble = log.appendChild(el("div", "msg bot searching", "Đang tìm…"));
    scrollDown();
    fetch("api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(conversation ? { question: question, conversation: conversation } : { question: question }),
    })
      .then(readReply)
      .then(function (reply) {
        if (reply.ok && typeof reply.data.answer === "string") {
          if (reply.data.conversation !== conversation) turns = 0; // the server started a new conversation
          remember(reply.data.conversation);
          turns += 1;
          showAnswer(bubble, reply.data, conversation, turns);
          if (input.value.trim() === question) {
            input.value = "";
            inputChanged();
          }
        } else if (reply.status === 400 || reply.status === 413) {
          // The question itself was refused (too long, empty…): it stays in the box to be corrected.
          asked.remove();
          bubble.remove();
          asked = null;
          showFormMessage(reply.data.error || "Máy chủ không nhận câu hỏi này; hãy sửa rồi gửi lại.", "server");
          showExamples();
        } else if (reply.data.error) {
          showError(bubble, reply.data.error);
        } else {
          showError(bubble, "Máy chủ hỏi đáp gặp lỗi (mã " + reply.status + "); thử lại sau.");
        }
      })
      .catch(function () {
        showError(bubble, NETWORK_ERROR);
      })
      .then(function () {
        busy = false;
        send.disabled = false;
        if (asked) scrollToTurn(asked);
        input.focus();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) return;
    ask(question);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // ------------------------------------------------------------------ start

  var restored = restore();

  var configured = fetch("widget/config", { cache: "no-store" })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (config) {
      if (!config) return;
      if (typeof config.max_question_chars === "number" && config.max_question_chars > 0) {
        maxChars = config.max_question_chars;
      }
      if (!urlColor && typeof config.color === "string" && COLOR.test(config.color)) applyBrand(config.color);
      if (!urlTitle && typeof config.title === "string" && config.title.trim()) applyTitle(config.title.trim());
      examples = (config.examples || []).filter(function (q) { return typeof q === "string" && q.trim(); });
      inputChanged();
    })
    .catch(function () { /* the first question will report the problem */ });

  Promise.all([restored, configured]).then(function () {
    showExamples();
    root.setAttribute("data-config", "true"); // examples and limits known: tests wait for this
  });

  root.setAttribute("data-ready", "true"); // handlers attached: tests wait for this

  fetch("api/health")
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (health) {
      if (health && health.fallback_model) {
        // One short line for users; how to fix it is on the admin page and in the server log.
        notice.textContent = "Tìm kiếm có thể kém chính xác (mô hình dự phòng); hãy báo quản trị viên.";
        notice.hidden = false;
      }
    })
    .catch(function () { /* the first question will report the problem */ });
})();
