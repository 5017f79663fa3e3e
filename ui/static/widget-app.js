// The compact chat of /widget. Everything from the server is shown with textContent, never as HTML.
(function () {
  "use strict";

  var log = document.getElementById("hd-log");
  var form = document.getElementById("hd-form");
  var input = document.getElementById("hd-question");
  var send = document.getElementById("hd-send");
  var closeButton = document.getElementById("hd-close");
  var notice = document.getElementById("hd-notice");
  var params = new URLSearchParams(window.location.search);
  var busy = false;

  var title = (params.get("title") || "").trim();
  if (title) {
    document.getElementById("hd-title").textContent = title;
    document.title = title;
  }

  if (window.parent !== window) {
    closeButton.hidden = false;
    closeButton.addEventListener("click", function () {
      window.parent.postMessage({ type: "hoidap:close" }, "*");
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  // A finished answer is read from its top: bring the question that asked it to the top of the log.
  function scrollToTurn(questionBubble) {
    log.scrollTop = questionBubble.offsetTop - log.offsetTop - 8;
  }

  function displayDate(date) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date || "");
    return m ? m[3] + "/" + m[2] + "/" + m[1] : date || "";
  }

  // The engine's answer: paragraphs and "- " bullet lines. Built as elements holding text.
  function renderAnswer(text) {
    var box = el("div", "answer");
    var list = null;
    text.split("\n").forEach(function (line) {
      if (/^\s*- /.test(line)) {
        if (!list) list = box.appendChild(el("ul"));
        list.appendChild(el("li", null, line.replace(/^\s*- /, "")));
      } else {
        list = null;
        if (line.trim()) box.appendChild(el("p", null, line));
      }
    });
    return box;
  }

  function copyText(data) {
    var lines = [data.answer];
    if (data.citations.length) {
      lines.push("", "Nguồn:");
      data.citations.forEach(function (c) {
        lines.push("[" + c.n + "] " + c.title + (c.date ? ", " + displayDate(c.date) : "") + " — " + c.doc);
        lines.push("    “" + c.quote + "”");
      });
    }
    return lines.join("\n");
  }

  function copy(text, button) {
    function fallback() {
      var area = document.createElement("textarea");
      area.value = text;
      area.style.position = "fixed";
      area.style.opacity = "0";
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
    button.textContent = "Đã sao chép";
    setTimeout(function () { button.textContent = "Sao chép"; }, 1500);
  }

  function renderSources(citations) {
    var box = el("div", "sources");
    box.appendChild(el("div", "sources-head", "Nguồn"));
    citations.forEach(function (c) {
      var item = el("div", "source");
      var head = el("div", "source-title");
      head.appendChild(el("span", "n", "[" + c.n + "] "));
      head.appendChild(document.createTextNode(c.title));
      item.appendChild(head);
      var place = [c.page ? "tr. " + c.page : "", c.section || ""].filter(Boolean).join(" · ");
      item.appendChild(el("div", "meta", [displayDate(c.date), c.doc, place].filter(Boolean).join(" · ")));
      item.appendChild(el("blockquote", "quote", c.quote));
      var link = el("a", "open", "Mở toàn văn");
      link.href = "document?" + new URLSearchParams({ doc: c.doc, start: c.start, end: c.end }).toString() + "#trich-dan";
      link.target = "_blank";
      link.rel = "noopener";
      item.appendChild(link);
      box.appendChild(item);
    });
    return box;
  }

  function showAnswer(bubble, data) {
    bubble.textContent = "";
    bubble.classList.remove("searching");
    if (data.understood_as) {
      // A follow-up was searched as a standalone question: say which, so nobody is answered unawares.
      bubble.appendChild(el("p", "understood", "Hiểu câu hỏi là: " + data.understood_as));
    }
    bubble.appendChild(renderAnswer(data.answer || ""));
    if (data.citations && data.citations.length) {
      bubble.appendChild(renderSources(data.citations));
    }
    var button = el("button", "copy", "Sao chép");
    button.type = "button";
    button.addEventListener("click", function () { copy(copyText(data), button); });
    bubble.appendChild(button);
  }

  function showError(bubble, message) {
    bubble.textContent = "";
    bubble.classList.remove("searching");
    bubble.classList.add("error");
    bubble.textContent = message;
  }

  // The conversation lives on the server; this tab keeps its id, so a reload shows it again.
  var STORED = "hoidap-conversation";
  var conversation = null;
  try { conversation = window.sessionStorage.getItem(STORED); } catch (e) { conversation = null; }

  function remember(id) {
    conversation = id || null;
    try {
      if (conversation) window.sessionStorage.setItem(STORED, conversation);
    } catch (e) { /* storage off: the conversation lasts until a reload */ }
  }

  function restore() {
    if (!conversation) return;
    fetch("api/conversations/" + encodeURIComponent(conversation))
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (found) {
        if (!found) { remember(null); try { window.sessionStorage.removeItem(STORED); } catch (e) { /* */ } return; }
        found.turns.forEach(function (turn) {
          log.appendChild(el("div", "msg user", turn.question));
          showAnswer(log.appendChild(el("div", "msg bot", "")), turn);
        });
        scrollDown();
      })
      .catch(function () { /* the server is away: start afresh */ });
  }
  restore();

  document.getElementById("hd-new").addEventListener("click", function () {
    if (busy) return;
    remember(null);
    try { window.sessionStorage.removeItem(STORED); } catch (e) { /* storage off */ }
    log.textContent = "";
    log.appendChild(el("p", "hint", "Cuộc trò chuyện mới: câu hỏi tiếp theo không dựa vào các câu trước."));
    input.focus();
  });

  function ask(question) {
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
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; },
          function () { return { ok: false, data: { error: "máy chủ trả lời " + response.status } }; });
      })
      .then(function (result) {
        if (result.ok) {
          remember(result.data.conversation);
          showAnswer(bubble, result.data);
        } else {
          showError(bubble, "Không trả lời được: " + (result.data.error || "lỗi không rõ"));
        }
      })
      .catch(function () {
        showError(bubble, "Không kết nối được máy chủ hỏi đáp. Hãy thử lại sau.");
      })
      .then(function () {
        busy = false;
        send.disabled = false;
        scrollToTurn(asked);
        input.focus();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.documentElement.setAttribute("data-ready", "true"); // handlers attached: tests wait for this

  fetch("api/health")
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (health) {
      if (health && health.fallback_model) {
        notice.textContent = "Chỉ mục dùng mô hình dự phòng tiếng Anh; kết quả tìm kiếm có thể kém chính xác. "
          + "Quản trị viên: đặt HOIDAP_EMBEDDING_MODEL rồi chạy lại hoidap index.";
        notice.hidden = false;
      }
    })
    .catch(function () { /* the first question will report the problem */ });
})();
