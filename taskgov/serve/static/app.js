// The taskgov dashboard: each page asks the JSON API for the rows its charts draw (the same
// rows the matching SQL report returns) and draws them with Vega-Lite, shipped in vendor/.
// The selection (cluster, team, since, until) lives in the query string, so every link keeps
// it. window.taskgov.charts[name] holds each chart's rows and Vega view, for the tests.
"use strict";

const PAGES = ["cluster", "team", "recommendations", "timeline", "why"];
const KINDS = ["within_guarantee", "lent", "idle", "borrowed"];
const KIND_COLORS = ["#4c78a8", "#72b7b2", "#d3d3d3", "#e45756"];
window.taskgov = { charts: {}, ready: false, errors: [] };

function selection() {
  const query = new URLSearchParams(location.search);
  for (const [key, value] of [...query.entries()]) if (!value) query.delete(key);
  return query;
}

function pageName() {
  const name = location.pathname.replace(/^\/page\//, "").replace(/\/$/, "");
  return PAGES.includes(name) ? name : "cluster";
}

async function api(name, extra = {}) {
  const query = selection();
  for (const [key, value] of Object.entries(extra)) query.set(key, value);
  const response = await fetch(`/api/${name}?${query}`);
  const payload = await response.json();
  if (!response.ok) throw new Error(`${name}: ${payload.error}`);
  return payload;
}

function section(title, note) {
  const box = document.createElement("section");
  box.className = "chart";
  box.innerHTML = `<h2></h2><p class="note"></p><div class="view"></div>`;
  box.querySelector("h2").textContent = title;
  box.querySelector("p.note").textContent = note || "";
  document.getElementById("page").appendChild(box);
  return box;
}

async function chart(name, title, note, rows, spec) {
  const box = section(title, note);
  box.dataset.chart = name;
  window.taskgov.charts[name] = { rows, view: null };
  if (!rows.length) {
    box.querySelector(".view").innerHTML = `<p class="empty">nothing recorded in this range</p>`;
    return;
  }
  const full = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { name: "rows", values: rows },
    ...spec,
  };
  const result = await vegaEmbed(box.querySelector(".view"), full, {
    renderer: "svg",
    actions: false,
  });
  window.taskgov.charts[name].view = result.view;
}

// Times are UTC, as in the record and the reports.
const time = (field, title) => ({
  field, type: "temporal", title: title || null, scale: { type: "utc" }, axis: { format: "%H:%M" },
});

// A payload sent column by column ({columns, values}) as the rows Vega draws.
function rowsOf(table) {
  const count = table.values.length ? table.values[0].length : 0;
  const rows = new Array(count);
  for (let i = 0; i < count; i++) {
    const row = {};
    table.columns.forEach((column, c) => { row[column] = table.values[c][i]; });
    rows[i] = row;
  }
  return rows;
}

async function clusterPage() {
  const usage = rowsOf(await api("usage"));
  const types = [...new Set(usage.map((r) => r.instance_type))];
  if (!types.length) await chart("usage", "Accelerators", "", [], {});
  for (const type of types) {
    const rows = usage.filter((r) => r.instance_type === type);
    await chart(
      `usage:${type}`,
      `${type}: each team's guarantee and how it was spent`,
      "Accelerators averaged per bucket: used within the guarantee, lent to the cohort, idle, " +
        "and borrowed above it; the dashed line is the guarantee (nominal quota).",
      rows,
      {
        facet: { column: { field: "team", type: "nominal", title: null } },
        spec: {
          width: 360,
          height: 180,
          layer: [
            {
              transform: [
                { fold: KINDS, as: ["kind", "accelerators"] },
                { calculate: `indexof(${JSON.stringify(KINDS)}, datum.kind)`, as: "order" },
              ],
              mark: { type: "area", interpolate: "step-after" },
              encoding: {
                x: time("bucket_start"),
                y: { field: "accelerators", type: "quantitative", stack: "zero" },
                color: {
                  field: "kind",
                  type: "nominal",
                  scale: { domain: KINDS, range: KIND_COLORS },
                },
                order: { field: "order", type: "quantitative" },
                tooltip: [time("bucket_start", "from"), { field: "kind" }, { field: "accelerators" }],
              },
            },
            {
              mark: { type: "line", interpolate: "step-after", color: "black", strokeDash: [4, 3] },
              encoding: {
                x: time("bucket_start"),
                y: { field: "guaranteed", type: "quantitative" },
              },
            },
          ],
        },
      },
    );
  }
}

async function teamPage() {
  const team = selection().get("team");
  const data = await api("team");
  const scope = team ? `team ${team}` : "all teams";
  await chart(
    "wait_times",
    `Wait percentiles, ${scope}`,
    "Seconds from creation (initial) or eviction (readmission) to admission: p50, p95, p99.",
    data.wait_times.rows,
    {
      transform: [
        { fold: ["p50_s", "p95_s", "p99_s"], as: ["percentile", "seconds"] },
        { calculate: "datum.team + ' ' + datum.priority_class + ' ' + datum.wait_kind", as: "group" },
      ],
      mark: "bar",
      encoding: {
        y: { field: "group", type: "nominal", title: null },
        yOffset: { field: "percentile" },
        x: { field: "seconds", type: "quantitative" },
        color: { field: "percentile", type: "nominal" },
        tooltip: [{ field: "group" }, { field: "percentile" }, { field: "seconds" }],
      },
    },
  );
  await chart(
    "preemptions",
    `Preemptions, ${scope}: by whom`,
    "Each bar: a preemptor team and class evicting a victim team and class, by Kueue's reason.",
    data.preemptions.rows,
    {
      transform: [
        {
          calculate: "datum.preemptor_team + ' (' + datum.preemptor_priority_class + ') → ' + " +
            "datum.victim_team + ' (' + datum.victim_priority_class + ')'",
          as: "who",
        },
      ],
      mark: "bar",
      encoding: {
        y: { field: "who", type: "nominal", title: null },
        x: { field: "preemptions", type: "quantitative", axis: { tickMinStep: 1 } },
        color: { field: "reason", type: "nominal" },
        tooltip: [{ field: "who" }, { field: "reason" }, { field: "preemptions" }, { field: "victim_gpus" }],
      },
    },
  );
  await chart(
    "pending_causes",
    `Pending time by cause, ${scope}`,
    "Workload-hours spent pending per day, by the cause parsed from Kueue's message.",
    data.pending_causes.rows,
    {
      mark: "bar",
      encoding: {
        x: { field: "day", type: "ordinal", title: null },
        y: { field: "pending_hours", type: "quantitative", title: "workload-hours" },
        color: { field: "cause", type: "nominal" },
        tooltip: [{ field: "day" }, { field: "team" }, { field: "cause" }, { field: "pending_hours" }],
      },
    },
  );
  await chart(
    "starvation",
    `Starvation episodes, ${scope}`,
    "Runs of minutes with pending demand while part of the team's own guarantee was unused.",
    data.starvation.rows,
    {
      transform: [{ calculate: "datum.team + ' ' + datum.instance_type", as: "who" }],
      mark: { type: "bar", color: "#e45756" },
      encoding: {
        y: { field: "who", type: "nominal", title: null },
        x: time("started_at"),
        x2: { field: "ended_at" },
        tooltip: [
          { field: "who" },
          time("started_at", "started"),
          time("ended_at", "ended"),
          { field: "starved_minutes" },
          { field: "peak_pending_gpus" },
        ],
      },
    },
  );
}

async function recommendationsPage() {
  const data = await api("recommendations");
  await chart(
    "quotas",
    "Recommended quota: current vs proposed",
    "Nominal instances per team and instance type, today and in the latest recommendation.",
    data.quotas.rows,
    {
      transform: [
        { fold: ["current_instances", "proposed_instances"], as: ["policy", "instances"] },
        { calculate: "datum.team + ' ' + datum.instance_type", as: "who" },
      ],
      mark: "bar",
      encoding: {
        y: { field: "who", type: "nominal", title: null },
        yOffset: { field: "policy" },
        x: { field: "instances", type: "quantitative", axis: { tickMinStep: 1 } },
        color: { field: "policy", type: "nominal" },
        tooltip: [{ field: "who" }, { field: "policy" }, { field: "instances" }],
      },
    },
  );
  await chart(
    "effects",
    "What-if replay: proposed minus current",
    "Per team and metric, the change the replay predicts; the whisker spans the change over " +
      "every stored run.",
    data.effects.rows,
    {
      transform: [{ calculate: "datum.team + ' ' + datum.metric", as: "what" }],
      layer: [
        {
          mark: { type: "rule" },
          encoding: {
            y: { field: "what", type: "nominal", title: null },
            x: { field: "delta_low", type: "quantitative", title: "change" },
            x2: { field: "delta_high" },
          },
        },
        {
          mark: { type: "point", filled: true, size: 60 },
          encoding: {
            y: { field: "what", type: "nominal" },
            x: { field: "delta", type: "quantitative" },
            tooltip: [
              { field: "what" },
              { field: "current_value" },
              { field: "proposed_value" },
              { field: "delta" },
            ],
          },
        },
      ],
    },
  );
}

async function timelinePage() {
  const data = await api("timeline");
  // Alerts this server fired (and resolved), when it evaluates them.
  for (const episode of (await api("alerts")).episodes) {
    data.rows.push({
      kind: `alert: ${episode.labels.alertname}`,
      team: episode.labels.team || "",
      start: episode.starts_at,
      end: episode.resolved_at || new Date().toISOString(),
      label: episode.annotations.summary,
    });
  }
  await chart(
    "timeline",
    "Alerts, recommendations and applies",
    "Spans: starvation episodes (what the starvation alert fires on) and alerts fired by this " +
      "server; ticks: recommendation runs and applies.",
    data.rows,
    {
      layer: [
        {
          mark: { type: "bar", height: 14 },
          encoding: {
            y: { field: "kind", type: "nominal", title: null },
            x: time("start"),
            x2: { field: "end" },
            color: { field: "kind", type: "nominal" },
            tooltip: [{ field: "label" }, time("start", "from"), time("end", "to")],
          },
        },
        {
          mark: { type: "tick", thickness: 2 },
          encoding: {
            y: { field: "kind", type: "nominal" },
            x: time("start"),
            color: { field: "kind", type: "nominal" },
            tooltip: [{ field: "label" }, time("start", "at")],
          },
        },
      ],
    },
  );
}

async function whyPage() {
  const workload = selection().get("workload");
  const box = section("Why does this job wait?", "namespace/name of a pending Workload");
  box.querySelector(".view").innerHTML =
    `<form id="why-form"><input name="workload" size="60"> <button>explain</button></form>` +
    `<div id="why-answer"></div>`;
  const form = box.querySelector("#why-form");
  form.workload.value = workload || "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = selection();
    query.set("workload", form.workload.value);
    location.search = query.toString();
  });
  if (!workload) return;
  const answer = await api("why");
  window.taskgov.charts.why = { rows: answer.lines, view: null };
  const table = document.createElement("table");
  table.className = "why";
  for (const line of answer.lines) {
    const row = table.insertRow();
    row.insertCell().textContent = line.topic;
    row.insertCell().textContent = line.text;
  }
  box.querySelector("#why-answer").appendChild(table);
}

async function pickers() {
  const query = selection();
  const clusters = (await api("clusters")).rows;
  const clusterBox = document.getElementById("cluster");
  clusterBox.add(new Option("all clusters", ""));
  for (const row of clusters) clusterBox.add(new Option(row.cluster, row.cluster));
  clusterBox.value = query.get("cluster") || "";
  const teams = [...new Set(clusters.flatMap((row) => row.teams))].sort();
  const teamBox = document.getElementById("team");
  teamBox.add(new Option("all teams", ""));
  for (const team of teams) teamBox.add(new Option(team, team));
  teamBox.value = query.get("team") || "";
  document.getElementById("since").value = query.get("since") || "";
  document.getElementById("until").value = query.get("until") || "";
  document.getElementById("pickers").addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams(new FormData(event.target));
    for (const [key, value] of [...chosen.entries()]) if (!value) chosen.delete(key);
    location.search = chosen.toString();
  });
}

function navigation() {
  const nav = document.getElementById("nav");
  const query = selection().toString();
  for (const name of PAGES) {
    const link = document.createElement("a");
    link.href = `/page/${name}${query ? "?" + query : ""}`;
    link.textContent = name;
    if (name === pageName()) link.className = "current";
    nav.appendChild(link);
  }
}

async function main() {
  navigation();
  const status = document.getElementById("status");
  try {
    await pickers();
    const page = pageName();
    document.title = `taskgov: ${page}`;
    await { cluster: clusterPage, team: teamPage, recommendations: recommendationsPage,
            timeline: timelinePage, why: whyPage }[page]();
    status.textContent = "";
  } catch (error) {
    window.taskgov.errors.push(String(error));
    status.textContent = String(error);
    console.error(error);
  }
  window.taskgov.ready = true;
}

main();
