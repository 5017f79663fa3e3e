// The admin page at /quan-tri. Everything from the server is shown with textContent, never as HTML.
// The admin token lives in sessionStorage and is only ever sent in the Authorization header.
(function () {
  "use strict";

  var KEY = "hoidap-admin-token";
  var POLL_MS = 700;
  var token = null;
  var info = null;        // last answer of GET /api/admin
  var documents = [];     // last answer of GET /api/documents
  var jobs = {};          // job id -> { row, timer }
  var number = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 });
  var STATES = { queued: "Đang chờ", running: "Đang xử lý", done: "Xong", failed: "Lỗi", uploading: "Đang tải lên" };
  var KINDS = { upload: "Tải lên", "delete": "Xoá", reindex: "Lập chỉ mục lại" };
  // What each outcome of a turn is called, and the class of its tag.
  var OUTCOMES = {
    answer: { label: "Đã trả lời", tag: "answered" },
    closest: { label: "Chỉ có đoạn liên quan", tag: "closest" },
    none: { label: "Không có trong tài liệu", tag: "refused" }
  };

  function $(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function show(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  // ---- Formatting ----------------------------------------------------------------------------

  function fmtDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
    return m ? m[3] + "/" + m[2] + "/" + m[1] : iso || "";
  }

  // The server's wall-clock time as written in the ISO string (not converted to the browser's zone).
  function fmtDateTime(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(iso || "");
    return m ? m[3] + "/" + m[2] + "/" + m[1] + " " + m[4] + ":" + m[5] : fmtDate(iso);
  }

  function timeCell(iso, withTime) {
    var t = el("time", null, withTime ? fmtDateTime(iso) : fmtDate(iso));
    if (iso) { t.dateTime = iso; t.title = iso; }
    return t;
  }

  function fmtBytes(bytes) {
    if ((bytes || 0) < 1024) return number.format(bytes || 0) + " B";
    var kb = bytes / 1024;
    return kb < 1024 ? number.format(kb) + " KB" : number.format(kb / 1024) + " MB";
  }

  // A turn logged before outcomes were told apart was answered or refused.
  function outcomeOf(q) { return OUTCOMES[q.outcome] ? q.outcome : q.refused ? "none" : "answer"; }

  function outcomeTag(outcome) {
    var tag = el("span", "tag " + OUTCOMES[outcome].tag, OUTCOMES[outcome].label);
    tag.setAttribute("data-outcome", outcome);
    return tag;
  }

  function fold(text) {
    return String(text || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d");
  }

  // ---- Talking to the server -----------------------------------------------------------------

  function authHeaders() { return { Authorization: "Bearer " + token }; }

  function read(response) {
    return response.text().then(function (text) {
      var data = null;
      try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text.slice(0, 200) }; }
      return { status: response.status, ok: response.ok, data: data || {} };
    });
  }

  function errorText(res) {
    return (res.data && res.data.error) || "máy chủ trả lời " + res.status;
  }

  function api(method, path) {
    return fetch(path, { method: method, headers: authHeaders(), cache: "no-store" }).then(read).then(function (res) {
      if (res.status === 401 && token) signOut("Mã quản trị không còn đúng. Hãy đăng nhập lại.");
      return res;
    });
  }

  // ---- Login ---------------------------------------------------------------------------------

  function loginMessage(res) {
    if (res.status === 401) return "Mã quản trị không đúng.";
    if (res.status === 403) {
      return "Máy chủ chưa bật quản trị: đặt biến môi trường HOIDAP_ADMIN_TOKEN rồi khởi động lại hoidap serve.";
    }
    return "Lỗi máy chủ: " + errorText(res);
  }

  function verify(candidate, silent) {
    $("login-submit").disabled = true;
    fetch("/api/admin", { headers: { Authorization: "Bearer " + candidate }, cache: "no-store" })
      .then(read)
      .then(function (res) {
        if (res.ok) {
          token = candidate;
          sessionStorage.setItem(KEY, candidate);
          enterMain(res.data);
          return;
        }
        if (res.status === 401 || res.status === 403) sessionStorage.removeItem(KEY);
        showLogin(silent && res.status === 401 ? "" : loginMessage(res));
      })
      .catch(function () { showLogin("Không kết nối được máy chủ. Hãy thử lại."); })
      .then(function () { $("login-submit").disabled = false; });
  }

  function showLogin(message) {
    $("main").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    show($("login-error"), message);
    $("token").focus();
  }

  function signOut(message) {
    token = null;
    info = null;
    sessionStorage.removeItem(KEY);
    Object.keys(jobs).forEach(function (id) { clearTimeout(jobs[id].timer); });
    jobs = {};
    $("jobs").textContent = "";
    $("jobs-box").hidden = true;
    $("doc-table").tBodies[0].textContent = "";
    $("questions-table").tBodies[0].textContent = "";
    $("unanswered").textContent = "";
    $("u-counts").textContent = "";
    showLogin(message);
  }

  function enterMain(data) {
    $("login").hidden = true;
    $("token").value = "";
    show($("login-error"), "");
    $("main").hidden = false;
    $("logout").hidden = false;
    applyInfo(data);
    loadDocuments();
    loadJobs();
    var hash = window.location.hash.slice(1);
    var tab = document.querySelector('.tab[data-hash="' + hash + '"]') || $("tab-docs");
    activate(tab, false);
  }

  // ---- Summary -------------------------------------------------------------------------------

  function applyInfo(data) {
    info = data;
    $("stat-docs").textContent = number.format(data.documents || 0);
    $("stat-chunks").textContent = number.format(data.chunks || 0);
    $("stat-model").textContent = data.model || "";
    $("fallback-warning").hidden = !data.fallback_model;
    show($("problem"), data.problem ? "Sự cố: " + data.problem : "");
    var suffixes = data.suffixes || [];
    $("file-input").accept = suffixes.join(",");
    $("suffixes").textContent = "Định dạng nhận: " + suffixes.join(", ")
      + (data.max_upload_mb ? " · tối đa " + data.max_upload_mb + " MB mỗi tệp" : "");
  }

  function refreshInfo() {
    api("GET", "/api/admin").then(function (res) { if (res.ok) applyInfo(res.data); }).catch(function () {});
  }

  // ---- Documents -----------------------------------------------------------------------------

  function loadDocuments() {
    return api("GET", "/api/documents").then(function (res) {
      if (!res.ok) { show($("doc-status"), "Không tải được danh sách tài liệu: " + errorText(res)); return; }
      documents = res.data.documents || [];
      renderDocuments();
    }).catch(function () { show($("doc-status"), "Không kết nối được máy chủ."); });
  }

  function renderDocuments() {
    var body = $("doc-table").tBodies[0];
    var needle = fold($("doc-search").value.trim());
    var shown = documents.filter(function (d) {
      return !needle || fold(d.doc).indexOf(needle) >= 0 || fold(d.title).indexOf(needle) >= 0;
    });
    body.textContent = "";
    shown.forEach(function (d) {
      var tr = el("tr");
      tr.setAttribute("data-doc", d.doc);
      tr.appendChild(el("td", "name", d.doc));
      tr.appendChild(el("td", "title", d.title));
      tr.appendChild(el("td", "nowrap", fmtDate(d.date)));
      tr.appendChild(el("td", null, d.format));
      tr.appendChild(el("td", "num", d.pages === null || d.pages === undefined ? "" : d.pages));
      tr.appendChild(el("td", "num", number.format(d.chunks || 0)));
      tr.appendChild(el("td", "num", fmtBytes(d.bytes)));
      var indexed = el("td", "nowrap");
      if (d.indexed) indexed.appendChild(timeCell(d.indexed, true));
      tr.appendChild(indexed);
      var action = el("td");
      var button = el("button", "btn danger small-btn", "Xoá");
      button.type = "button";
      button.setAttribute("aria-label", "Xoá " + d.doc);
      button.addEventListener("click", function () { removeDocument(d.doc); });
      action.appendChild(button);
      tr.appendChild(action);
      body.appendChild(tr);
    });
    var empty = !documents.length ? "Chưa có tài liệu nào." : !shown.length ? "Không tìm thấy tài liệu phù hợp." : "";
    show($("doc-empty"), empty);
  }

  function removeDocument(doc) {
    if (!window.confirm("Xoá “" + doc + "” khỏi bộ tài liệu và chỉ mục?")) return;
    show($("doc-status"), "");
    api("DELETE", "/api/documents/" + encodeURIComponent(doc)).then(function (res) {
      if (!res.ok) { show($("doc-status"), "Không xoá được “" + doc + "”: " + errorText(res)); return; }
      trackJob({ job: res.data.job, kind: "delete", state: "queued", files: [doc], done: 0, total: 0, message: "" });
    }).catch(function () { show($("doc-status"), "Không kết nối được máy chủ."); });
  }

  function reindex() {
    if (!window.confirm("Lập chỉ mục lại toàn bộ tài liệu? Việc này có thể mất vài phút.")) return;
    show($("doc-status"), "");
    api("POST", "/api/reindex").then(function (res) {
      if (!res.ok) { show($("doc-status"), "Không lập chỉ mục lại được: " + errorText(res)); return; }
      trackJob({ job: res.data.job, kind: "reindex", state: "queued", files: [], done: 0, total: 0, message: "" });
    }).catch(function () { show($("doc-status"), "Không kết nối được máy chủ."); });
  }

  // ---- Upload --------------------------------------------------------------------------------

  function uploadError(status, detail) {
    var text = {
      409: "Đã có tệp cùng tên; đánh dấu «Thay thế tệp cùng tên» để ghi đè.",
      413: "Tệp quá lớn (giới hạn " + (info ? info.max_upload_mb : "?") + " MB).",
      415: "Định dạng không được hỗ trợ."
    }[status] || "Tải lên không thành công.";
    return text + (detail ? " (" + detail + ")" : "");
  }

  function upload(fileList) {
    var files = Array.prototype.slice.call(fileList || []);
    var limit = info && info.max_upload_mb ? info.max_upload_mb * 1024 * 1024 : Infinity;
    var tooBig = files.filter(function (f) { return f.size > limit; });
    files = files.filter(function (f) { return f.size <= limit; });
    show($("doc-status"), tooBig.length ? "Không tải lên " + tooBig.map(function (f) { return "“" + f.name + "”"; }).join(", ")
      + ": tệp quá lớn (giới hạn " + info.max_upload_mb + " MB)." : "");
    $("file-input").value = "";
    if (!files.length) return;

    var form = new FormData();
    files.forEach(function (f) { form.append("file", f, f.name); });
    if ($("replace").checked) form.append("replace", "true");
    var row = jobRow({ kind: "upload", state: "uploading", files: files.map(function (f) { return f.name; }),
      done: 0, total: 0, message: "Đang gửi tệp lên máy chủ…" });
    var bar = row.querySelector("progress");

    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/documents");
    xhr.setRequestHeader("Authorization", "Bearer " + token);
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      bar.max = e.total;
      bar.value = e.loaded;
    };
    xhr.onload = function () {
      var data = {};
      try { data = JSON.parse(xhr.responseText || "{}"); } catch (e) { data = {}; }
      if (xhr.status === 202 && data.job) {
        row.remove();
        trackJob({ job: data.job, kind: "upload", state: "queued", files: data.files || [], done: 0, total: 0, message: "" });
        return;
      }
      row.remove();
      syncJobsBox();
      if (xhr.status === 401) { signOut("Mã quản trị không còn đúng. Hãy đăng nhập lại."); return; }
      show($("doc-status"), uploadError(xhr.status, data.error || (xhr.status ? "HTTP " + xhr.status : "")));
    };
    xhr.onerror = function () {
      row.remove();
      syncJobsBox();
      show($("doc-status"), "Không kết nối được máy chủ; tệp chưa được tải lên.");
    };
    xhr.send(form);
  }

  // ---- Jobs ----------------------------------------------------------------------------------

  function syncJobsBox() { $("jobs-box").hidden = !$("jobs").children.length; }

  function jobRow(job) {
    var row = el("li", "job");
    var head = row.appendChild(el("div", "job-head"));
    head.appendChild(el("span", "job-kind", KINDS[job.kind] || job.kind));
    head.appendChild(el("span", "job-files"));
    head.appendChild(el("span", "job-state"));
    var line = row.appendChild(el("div", "job-line"));
    line.appendChild(el("progress", "job-progress"));
    line.appendChild(el("span", "job-count"));
    row.appendChild(el("div", "job-message"));
    updateRow(row, job);
    $("jobs").insertBefore(row, $("jobs").firstChild);
    syncJobsBox();
    return row;
  }

  function updateRow(row, job) {
    if (job.job) row.setAttribute("data-job", job.job);
    row.setAttribute("data-state", job.state);
    row.querySelector(".job-files").textContent = (job.files || []).join(", ") || (job.kind === "reindex" ? "Toàn bộ tài liệu" : "");
    row.querySelector(".job-state").textContent = STATES[job.state] || job.state;
    row.querySelector(".job-message").textContent = job.message || "";
    var bar = row.querySelector("progress");
    var count = row.querySelector(".job-count");
    if (job.state === "uploading") return;
    if (job.total > 0) {
      bar.max = job.total;
      bar.value = Math.min(job.done || 0, job.total);
      count.textContent = (job.done || 0) + "/" + job.total;
    } else if (job.state === "done" || job.state === "failed") {
      bar.max = 1;
      bar.value = job.state === "done" ? 1 : 0;
      count.textContent = "";
    } else {
      bar.removeAttribute("value"); // indeterminate
      count.textContent = "";
    }
  }

  function trackJob(job) {
    var entry = jobs[job.job];
    if (!entry) {
      entry = jobs[job.job] = { row: jobRow(job), timer: null };
    } else {
      updateRow(entry.row, job);
    }
    if (job.state === "done" || job.state === "failed") return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(function () { poll(job.job, 0); }, POLL_MS);
  }

  function poll(id, failures) {
    var entry = jobs[id];
    if (!entry || !token) return;
    api("GET", "/api/jobs/" + encodeURIComponent(id)).then(function (res) {
      if (!jobs[id]) return;
      if (res.status === 404) {
        updateRow(entry.row, { state: "failed", message: "Không tìm thấy công việc này trên máy chủ." });
        return;
      }
      if (!res.ok) throw new Error(errorText(res));
      updateRow(entry.row, res.data);
      if (res.data.state === "done" || res.data.state === "failed") {
        loadDocuments();
        refreshInfo();
      } else {
        entry.timer = setTimeout(function () { poll(id, 0); }, POLL_MS);
      }
    }).catch(function () {
      if (!jobs[id]) return;
      if (failures >= 20) {
        entry.row.querySelector(".job-message").textContent = "Mất kết nối với máy chủ; tải lại trang để xem tiến trình.";
        return;
      }
      entry.timer = setTimeout(function () { poll(id, failures + 1); }, POLL_MS * 2);
    });
  }

  function loadJobs() {
    api("GET", "/api/jobs").then(function (res) {
      if (!res.ok) return;
      (res.data.jobs || []).slice().reverse().forEach(function (job) {
        if (job.state === "queued" || job.state === "running") trackJob(job);
      });
    }).catch(function () {});
  }

  // ---- Question log --------------------------------------------------------------------------

  function questionQuery() {
    var params = new URLSearchParams();
    [["outcome", "q-outcome"], ["rating", "q-rating"], ["since", "q-since"], ["until", "q-until"], ["q", "q-text"]]
      .forEach(function (pair) {
        var value = $(pair[1]).value.trim();
        if (value) params.set(pair[0], value);
      });
    return params;
  }

  function loadQuestions() {
    show($("q-status"), "");
    $("q-total").textContent = "Đang tải…";
    api("GET", "/api/questions?" + questionQuery().toString()).then(function (res) {
      if (!res.ok) { $("q-total").textContent = ""; show($("q-status"), "Không tải được câu hỏi: " + errorText(res)); return; }
      renderQuestions(res.data);
    }).catch(function () { $("q-total").textContent = ""; show($("q-status"), "Không kết nối được máy chủ."); });
  }

  function renderQuestions(data) {
    var list = data.questions || [];
    var total = data.total === undefined ? list.length : data.total;
    $("q-total").textContent = !total ? "Không có câu hỏi nào." : "Tổng: " + number.format(total) + " câu hỏi"
      + (list.length < total ? " (hiển thị " + number.format(list.length) + " câu mới nhất)" : "");
    var body = $("questions-table").tBodies[0];
    body.textContent = "";
    list.forEach(function (q) {
      var tr = el("tr");
      if (q.id !== undefined) tr.setAttribute("data-id", q.id);
      var when = tr.appendChild(el("td", "nowrap"));
      when.appendChild(timeCell(q.at, true));
      var question = tr.appendChild(el("td", "question"));
      question.appendChild(el("div", null, q.question));
      if (q.understood_as) question.appendChild(el("div", "small", "Hiểu là: " + q.understood_as));
      var result = tr.appendChild(el("td"));
      result.appendChild(outcomeTag(outcomeOf(q)));
      tr.appendChild(el("td", "docs", (q.docs || []).join(", ")));
      tr.appendChild(el("td", "num", q.latency_ms === null || q.latency_ms === undefined ? "" : number.format(Math.round(q.latency_ms))));
      var rating = tr.appendChild(el("td", "rating", q.rating === 1 ? "👍" : q.rating === -1 ? "👎" : ""));
      if (q.rating) rating.setAttribute("aria-label", q.rating === 1 ? "Hữu ích" : "Không hữu ích");
      tr.appendChild(el("td", "comment", q.comment || ""));
      body.appendChild(tr);
    });
  }

  function downloadCsv() {
    var params = questionQuery();
    params.set("format", "csv");
    show($("q-status"), "");
    fetch("/api/questions?" + params.toString(), { headers: authHeaders(), cache: "no-store" }).then(function (response) {
      if (!response.ok) {
        return read(response).then(function (res) { show($("q-status"), "Không tải được CSV: " + errorText(res)); });
      }
      return response.blob().then(function (blob) {
        var url = URL.createObjectURL(blob);
        var link = el("a");
        link.href = url;
        link.download = "cau-hoi.csv";
        link.hidden = true;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      });
    }).catch(function () { show($("q-status"), "Không kết nối được máy chủ."); });
  }

  // ---- Unanswered questions ------------------------------------------------------------------

  function loadUnanswered() {
    var params = new URLSearchParams();
    if ($("u-since").value) params.set("since", $("u-since").value);
    if ($("u-until").value) params.set("until", $("u-until").value);
    if ($("u-outcome").value) params.set("outcome", $("u-outcome").value);
    show($("u-status"), "");
    api("GET", "/api/questions/unanswered?" + params.toString()).then(function (res) {
      if (!res.ok) { show($("u-status"), "Không tải được danh sách: " + errorText(res)); return; }
      renderUnanswered(res.data.groups || [], res.data.counts || {});
    }).catch(function () { show($("u-status"), "Không kết nối được máy chủ."); });
  }

  // How many questions of each kind: "Chỉ có đoạn liên quan: 3 · Không có trong tài liệu: 5".
  function renderCounts(counts) {
    var line = $("u-counts");
    line.textContent = "";
    ["closest", "none"].forEach(function (outcome, i) {
      if (i) line.appendChild(document.createTextNode(" · "));
      var part = line.appendChild(el("span", "count", OUTCOMES[outcome].label + ": " + number.format(counts[outcome] || 0)));
      part.setAttribute("data-outcome", outcome);
    });
  }

  function renderUnanswered(groups, counts) {
    var list = $("unanswered");
    list.textContent = "";
    renderCounts(counts);
    groups.slice().sort(function (a, b) { return (b.count || 0) - (a.count || 0); }).forEach(function (g) {
      var outcome = OUTCOMES[g.outcome] ? g.outcome : "none";
      var item = el("li", "group");
      item.setAttribute("data-outcome", outcome);
      var badge = item.appendChild(el("span", "badge", number.format(g.count || 0)));
      badge.title = "Số lần hỏi";
      badge.setAttribute("aria-label", (g.count || 0) + " lần");
      var body = item.appendChild(el("div", "group-body"));
      body.appendChild(outcomeTag(outcome));
      body.appendChild(el("div", "group-question", g.question));
      var others = (g.questions || []).filter(function (w) { return w !== g.question; });
      if (others.length) {
        var ul = body.appendChild(el("ul", "wordings small"));
        others.forEach(function (w) { ul.appendChild(el("li", null, w)); });
      }
      var last = body.appendChild(el("div", "small", "Lần cuối: "));
      last.appendChild(timeCell(g.last, true));
      list.appendChild(item);
    });
    $("u-empty").hidden = groups.length > 0;
  }

  // ---- Tabs ----------------------------------------------------------------------------------

  function activate(tab, focus) {
    Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) tab.focus();
    history.replaceState(null, "", "#" + tab.getAttribute("data-hash"));
    if (tab.id === "tab-questions") loadQuestions();
    if (tab.id === "tab-unanswered") loadUnanswered();
  }

  var tabs = Array.prototype.slice.call(document.querySelectorAll(".tab"));
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { activate(tab, false); });
    tab.addEventListener("keydown", function (e) {
      var step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      e.preventDefault();
      activate(tabs[(i + step + tabs.length) % tabs.length], true);
    });
  });

  // ---- Wiring --------------------------------------------------------------------------------

  $("login").addEventListener("submit", function (e) {
    e.preventDefault();
    var candidate = $("token").value.trim();
    if (candidate) verify(candidate, false);
  });
  $("logout").addEventListener("click", function () { signOut(""); });
  $("doc-search").addEventListener("input", renderDocuments);
  $("reindex").addEventListener("click", reindex);
  $("file-input").addEventListener("change", function () { upload($("file-input").files); });
  $("q-filter").addEventListener("submit", function (e) { e.preventDefault(); loadQuestions(); });
  $("csv").addEventListener("click", downloadCsv);
  $("u-filter").addEventListener("submit", function (e) { e.preventDefault(); loadUnanswered(); });

  var drop = $("drop");
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  drop.addEventListener("dragleave", function (e) {
    if (!drop.contains(e.relatedTarget)) drop.classList.remove("over");
  });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) upload(e.dataTransfer.files);
  });
  // A file dropped beside the zone must not make the browser leave the page to open it.
  ["dragover", "drop"].forEach(function (type) {
    window.addEventListener(type, function (e) { if (!drop.contains(e.target)) e.preventDefault(); });
  });

  document.documentElement.setAttribute("data-ready", "true"); // handlers attached: tests wait for this

  var saved = sessionStorage.getItem(KEY);
  if (saved) verify(saved, true); else showLogin("");
})();
