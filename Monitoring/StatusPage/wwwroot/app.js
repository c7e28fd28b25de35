// The status page of mesh monitor: polls /api/state every second and redraws. Everything shown comes from that
// JSON and is written as text (never as HTML), since names come from etcd.
(function () {
  "use strict";

  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };
  const time = ms => new Date(ms).toLocaleTimeString();
  const ago = ms => ms === null || ms === undefined ? "never" : ms < 1500 ? "just now" : ms < 90000 ? Math.round(ms / 1000) + " s ago"
    : ms < 5400000 ? Math.round(ms / 60000) + " min ago" : Math.round(ms / 3600000) + " h ago";
  const ms = v => v >= 100 ? Math.round(v) + " ms" : v >= 10 ? v.toFixed(1) + " ms" : v.toFixed(2) + " ms";
  const bytes = n => n >= 1073741824 ? (n / 1073741824).toFixed(1) + " GiB" : n >= 1048576 ? (n / 1048576).toFixed(1) + " MiB" : (n / 1024).toFixed(0) + " KiB";

  function fillTable(id, rows, rowClasses) {
    const body = document.querySelector("#" + id + " tbody");
    body.replaceChildren(...rows.map((cells, i) => {
      const tr = el("tr", undefined, rowClasses ? rowClasses[i] : undefined);
      for (const cell of cells) {
        const td = el("td");
        if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell === null || cell === undefined ? "" : String(cell);
        tr.appendChild(td);
      }
      return tr;
    }));
  }

  function links(peer) {
    const span = el("span");
    if (peer.links.length === 0) span.appendChild(el("span", "none reported", "muted"));
    for (const link of peer.links) {
      const chip = el("span", link.name + " " + link.state + (link.rttMs !== null && link.rttMs !== undefined ? " " + ms(link.rttMs) : ""), "chip " + link.state);
      chip.title = link.state === "up" ? (link.rttMs != null ? "round trip on the heartbeats" : "up, no round trip measured yet") : "no heartbeat within 3 s";
      span.appendChild(chip);
    }
    return span;
  }

  // One truth per peer: healthy, suspect (others see it down, whatever it says), failed (its lease expired; greyed, with
  // the cause), deleted (its record went while its lease lives, or unchecked: greyed, not failed), or unsigned (a record
  // its peer did not sign: anyone could have written it; never counted as online).
  function verdict(peer) {
    if (peer.state === "unsigned") {
      const span = el("span", "unsigned: " + peer.cause, "unsigned-cause");
      span.dataset.verdict = "unsigned";
      return span;
    }
    if (peer.state === "suspect") {
      const span = el("span", "\u26a0 suspect since " + time(peer.stateSince) + ": " + peer.cause, "bad");
      span.dataset.verdict = "suspect";
      return span;
    }
    if (peer.state === "failed") {
      const span = el("span", "failed at " + time(peer.stateSince) + ": " + peer.cause, "failed-cause");
      span.dataset.verdict = "failed";
      return span;
    }
    if (peer.state === "deleted") {
      const span = el("span", "record deleted at " + time(peer.stateSince) + ": " + peer.cause, "failed-cause");
      span.dataset.verdict = "deleted";
      return span;
    }
    const span = el("span", "healthy", "good");
    span.dataset.verdict = "healthy";
    return span;
  }

  // A peer's own figures from InfluxDB, with their age: delivery latency p50/p99 and the outbox backlog.
  function figures(peer, now, influx) {
    const f = peer.figures;
    if (influx.state === "off") return [el("span", "needs InfluxDB", "muted"), el("span", "needs InfluxDB", "muted")];
    if (!f) return [el("span", "none reported", "muted"), el("span", "none reported", "muted")];
    const age = " (" + ago(now - f.atMs) + ")";
    const latency = el("span", f.deliveryP50Ms != null ? ms(f.deliveryP50Ms) + " / " + ms(f.deliveryP99Ms) : "no messages lately", "from-influx");
    latency.title = "delivery latency p50 / p99 in its last report" + age;
    const backlog = el("span", f.outboxBacklog != null ? String(f.outboxBacklog) : "", "from-influx" + (f.outboxBacklog > 0 ? " warn" : ""));
    backlog.title = "sent, not yet stored in etcd" + age;
    // Figures older than a few reports say so where they stand (a peer that stopped reporting).
    if (now - f.atMs > 30000) {
      latency.appendChild(el("span", " " + ago(now - f.atMs), "age stale"));
      backlog.appendChild(el("span", " " + ago(now - f.atMs), "age stale"));
    }
    return [latency, backlog];
  }

  // Charts: one-line time ticks spaced so they cannot overlap, and legends that show the latest values unless the
  // cursor points elsewhere (uPlot's own legend reads "--" when nothing is hovered).
  const pad = n => String(n).padStart(2, "0");
  const tick = secs => { const d = new Date(secs * 1000); return pad(d.getHours()) + ":" + pad(d.getMinutes()) + (d.getSeconds() ? ":" + pad(d.getSeconds()) : ""); };
  const drawnTicks = {};
  function lastIndex(values) {
    for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return i;
    return null;
  }
  function showLatest(u) {
    if (u.cursor.idx !== null && u.cursor.idx !== undefined && u.cursor.left >= 0) return;
    const idxs = u.data.map((values, i) => i === 0 ? values.length - 1 : lastIndex(values));
    u.setLegend({ idxs: idxs }, false);
  }
  function chart(id, series, unit) {
    const target = document.getElementById(id);
    const width = Math.max(300, target.clientWidth || 560);
    const format = v => v === null || v === undefined ? "none" : (Math.abs(v) >= 100 ? Math.round(v) : +v.toFixed(2)) + unit;
    const opts = {
      width: width, height: 220,
      series: [{ label: "at", value: (u, v) => v === null || v === undefined ? "" : new Date(v * 1000).toLocaleTimeString() },
        ...series.map(s => Object.assign({ value: (u, v) => format(v) }, s))],
      scales: { x: { time: true } },
      axes: [
        { space: 80, incrs: [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
          values: (u, splits) => (drawnTicks[id] = splits.map(tick)) },
        { size: 56, values: (u, splits) => splits.map(v => Math.abs(v) >= 1000 ? (v / 1000) + "k" : String(+v.toFixed(2))) },
      ],
      hooks: { setCursor: [showLatest] },
    };
    return new uPlot(opts, [[], ...series.map(() => [])], target);
  }

  const rateChart = chart("rate-chart", [{ label: "messages/s", stroke: "#2f6fde", fill: "rgba(47,111,222,0.12)" }], "");
  // Latency has values only in seconds with messages: points show where there is no line to draw.
  const latencyChart = chart("latency-chart", [{ label: "p50", stroke: "#17a05d", points: { show: true, size: 5 } },
    { label: "p99", stroke: "#d9822b", points: { show: true, size: 5 } }], " ms");

  // A member's database against its quota: the size, the share, and the warning past 80 % (or the alarm).
  function database(e) {
    if (!e.dbSizeBytes) return "";
    const text = bytes(e.dbSizeBytes) + (e.quotaPercent != null ? " of " + bytes(e.quotaBytes) + " (" + Math.round(e.quotaPercent) + " %)" : "");
    const cls = e.alarms && e.alarms.length > 0 ? "bad" : e.warning ? "warn" : "";
    const span = el("span", text, cls);
    if (e.warning) span.title = e.warning;
    return span;
  }

  // What each source's figures are worth now: their age on every figure, and a banner at the top naming what is
  // lost, since when and why, with what it greys.
  const covers = { etcd: "peers, groups, links and etcd members below are as etcd last told them", InfluxDB: "the peers' own figures below (delivery latency, outbox) are as last read, and the monitor's metrics wait in its buffer" };
  function sourceAge(source) {
    if (source.state === "off") return "not configured";
    if (source.state === "connecting") return "waiting for " + source.name;
    return (source.state === "lost" ? "stale, as of " : "as of ") + ago(source.ageMs);
  }
  function freshness(state) {
    const lost = state.sources.filter(s => s.state === "lost");
    for (const source of state.sources) {
      const key = source.name === "etcd" ? "etcd" : "influx";
      document.body.classList.toggle(key + "-stale", source.state === "lost");
      for (const e of document.querySelectorAll('.age[data-source="' + key + '"]')) {
        e.textContent = sourceAge(source);
        e.className = "age" + (source.state === "lost" ? " stale" : "");
      }
    }
    const banner = document.getElementById("stale-banner");
    banner.replaceChildren(...lost.map(s => el("div", "⚠ " + s.name + " unreachable since " + time(s.failingSince) + ": " + s.cause + ". "
      + covers[s.name][0].toUpperCase() + covers[s.name].slice(1) + (s.answeredAt ? " at " + time(s.answeredAt) + " (" + ago(s.ageMs) + ")." : " (never reached)."))));
    banner.hidden = lost.length === 0;
    document.body.dataset.stale = lost.map(s => s.name).join(",");
    document.getElementById("updated").textContent = "updated " + time(state.time) + " · "
      + state.sources.map(s => s.name + " " + (s.state === "live" ? "live" : s.state === "off" ? "not configured" : s.state)).join(" · ");
  }

  function render(state) {
    document.body.classList.remove("monitor-stale");
    freshness(state);
    const online = state.peers.filter(p => p.state === "healthy" || p.state === "suspect");
    const suspect = state.peers.filter(p => p.state === "suspect");
    const failed = state.peers.filter(p => p.state === "failed");
    const unsigned = state.peers.filter(p => p.state === "unsigned");
    const deleted = state.peers.filter(p => p.state === "deleted");
    document.getElementById("peer-count").textContent = online.length;
    const unsignedCount = document.getElementById("unsigned-count");
    unsignedCount.textContent = unsigned.length;
    unsignedCount.className = "value" + (unsigned.length > 0 ? " bad" : "");
    const suspects = document.getElementById("suspect-count");
    suspects.textContent = suspect.length;
    suspects.className = "value" + (suspect.length > 0 ? " bad" : "");
    document.getElementById("group-count").textContent = state.groups.length;
    const down = document.getElementById("links-down");
    down.textContent = state.linksDown;
    down.className = "value" + (state.linksDown > 0 ? " bad" : "");
    const expiries = document.getElementById("expiries");
    expiries.textContent = state.leaseExpiries;
    expiries.className = "value" + (failed.length > 0 ? " bad" : state.leaseExpiries > 0 ? " warn" : "");
    const healthy = state.etcd.filter(e => e.healthy).length;
    const summary = document.getElementById("etcd-summary");
    const filling = state.etcd.filter(e => e.warning);
    summary.textContent = healthy + "/" + state.etcd.length + " healthy" + (filling.length > 0 ? ", database " + Math.round(Math.max(...filling.map(e => e.quotaPercent))) + " % full" : "");
    summary.className = "value" + (healthy < state.etcd.length ? " bad" : filling.length > 0 ? " warn" : "");

    const influx = state.sources[1];
    fillTable("peers", state.peers.map(p => [p.name, el("code", p.id.slice(0, 12)), verdict(p), p.endpoint, p.groups.join(", "),
      p.state === "failed" ? el("span", "(last seen before it failed)", "muted")
        : p.state === "deleted" ? el("span", "(last seen before its record went)", "muted") : links(p),
      // An unsigned record's claims (its figures, since when it is online) are nobody's: not shown.
      ...(p.state === "healthy" || p.state === "suspect" ? figures(p, state.time, influx) : ["", ""]), p.state === "unsigned" ? "" : time(p.since)]),
      state.peers.map(p => p.state === "healthy" ? "" : p.state));
    fillTable("groups", state.groups.map(g => [g.name, g.policy, g.members.join(", "), g.inHistory === null || g.inHistory === undefined ? "" : g.inHistory, g.messagesSeen]));
    fillTable("etcd", state.etcd.map(e => [e.endpoint,
      el("span", e.healthy ? "healthy" : "unhealthy: " + (e.error || ""), e.healthy ? "good" : "bad"),
      e.healthy ? (e.leader ? "leader" : "follower") : "", database(e),
      e.latencyMs.toFixed(1) + " ms", e.version || "", e.checkedAt ? ago(state.time - e.checkedAt) : ""]));
    document.getElementById("events").replaceChildren(...state.events.map(e => el("li", time(e.time) + "  " + e.text)));

    const s = state.series;
    rateChart.setData([s.time, s.rate]);
    latencyChart.setData([s.time, s.latencyP50, s.latencyP99]);
    showLatest(rateChart);
    showLatest(latencyChart);
    // For tests and scripts: what was drawn.
    document.body.dataset.state = "live";
    document.body.dataset.peers = online.map(p => p.name).join(",");
    document.body.dataset.suspect = suspect.map(p => p.name).join(",");
    document.body.dataset.failed = failed.map(p => p.name).join(",");
    document.body.dataset.unsigned = unsigned.map(p => p.name).join(",");
    document.body.dataset.deleted = deleted.map(p => p.name).join(",");
    document.body.dataset.ratePoints = String(s.rate.filter(v => v > 0).length);
    document.body.dataset.rateTicks = (drawnTicks["rate-chart"] || []).join(" ");
  }

  // First paint: the state the server put in the page, before the first fetch.
  const initial = document.getElementById("initial-state");
  if (initial) {
    try { render(JSON.parse(initial.textContent)); document.body.dataset.firstPaint = "state"; } catch (e) { document.body.dataset.firstPaint = "none"; }
  }

  let lastAnswer = null;
  async function poll() {
    try {
      const response = await fetch("/api/state", { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      render(await response.json());
      lastAnswer = Date.now();
    } catch (e) {
      // Everything on the page is as of the last answer: say so at the top, and grey it all.
      document.body.dataset.state = "error";
      document.body.classList.add("monitor-stale");
      const banner = document.getElementById("stale-banner");
      banner.replaceChildren(el("div", "⚠ the monitor does not answer (" + e.message + "): everything below is as of "
        + (lastAnswer ? time(lastAnswer) : "never") + "; retrying every second."));
      banner.hidden = false;
      document.getElementById("updated").textContent = "monitor unreachable, retrying";
    }
    setTimeout(poll, 1000);
  }

  poll();
})();
