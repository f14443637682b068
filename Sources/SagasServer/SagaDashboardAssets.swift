/// The dashboard's stylesheet and script, served from the binary at `/static/app.css` and `/static/app.js` (the
/// Content-Security-Policy allows no inline script or style, and the pages need no network).
enum SagaDashboardAssets {
    static let css = """
        :root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #f7f8fa; --accent: #2456c9; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; gap: 1.2em; align-items: center; padding: .6em 1.2em; background: #1d2330; color: #fff; }
        header a { color: #cfd8ea; text-decoration: none; }
        header a.active, header a:hover { color: #fff; text-decoration: underline; }
        header .who { margin-left: auto; color: #aab4c8; }
        header form { display: inline; margin: 0; }
        header button { background: none; border: 1px solid #55607a; color: #cfd8ea; border-radius: 4px; cursor: pointer; }
        main { padding: 1em 1.5em 3em; max-width: 1400px; }
        h1 { font-size: 1.4em; margin: .3em 0 .6em; }
        h2 { font-size: 1.1em; margin: 1.4em 0 .5em; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #eef1f6; font-weight: 600; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        pre { background: #fff; border: 1px solid var(--line); padding: .6em; overflow: auto; max-height: 24em; }
        code, pre { font: 12.5px/1.4 ui-monospace, Menlo, Consolas, monospace; }
        a { color: var(--accent); }
        .cards { display: flex; flex-wrap: wrap; gap: .8em; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .7em 1em; min-width: 9em; }
        .card .n { font-size: 1.6em; font-weight: 600; display: block; }
        .status { display: inline-block; padding: 0 .45em; border-radius: 3px; font-size: .9em; background: #e6e9ef; }
        .s-completed { background: #d8f0dc; } .s-compensated { background: #e5ddf5; } .s-failed { background: #f7d4d4; }
        .s-needs_intervention { background: #fbe7b5; } .s-running, .s-compensating { background: #d6e4fb; }
        .muted { color: var(--muted); }
        .notice { background: #e8f1ff; border: 1px solid #b8cdf3; padding: .5em .8em; border-radius: 4px; }
        .error { background: #fdecec; border: 1px solid #f0b6b6; padding: .5em .8em; border-radius: 4px; }
        form.filters { display: flex; flex-wrap: wrap; gap: .6em; align-items: end; margin-bottom: 1em; }
        form.filters label, form.action label { display: flex; flex-direction: column; font-size: .85em; color: var(--muted); }
        form.action { background: #fff; border: 1px solid var(--line); padding: .7em; margin: .5em 0; border-radius: 6px; }
        form.action .row { display: flex; gap: .6em; flex-wrap: wrap; align-items: end; }
        input, select, textarea, button { font: inherit; }
        textarea { width: 100%; min-height: 4em; }
        button.primary { background: var(--accent); color: #fff; border: 0; padding: .35em .9em; border-radius: 4px; cursor: pointer; }
        button.danger { background: #b3261e; color: #fff; border: 0; padding: .35em .9em; border-radius: 4px; cursor: pointer; }
        svg.timeline, svg.graph { background: #fff; border: 1px solid var(--line); width: 100%; height: auto; }
        svg text { font: 11px system-ui, sans-serif; fill: #1d2330; }
        .t-fwd { fill: #3f7be0; } .t-ok { fill: #2e9a4a; } .t-fail { fill: #d0443b; } .t-retry { fill: #e89a2c; }
        .t-comp { fill: #8a5cd1; } .t-probe { fill: #4bb3b3; } .t-int { fill: #f2b705; } .t-saga { fill: #5b6475; }
        .t-axis { stroke: #c4cad6; stroke-width: 1; } .t-edge { stroke: #8893a7; stroke-width: 1.2; fill: none; }
        .node rect { fill: #eef3fd; stroke: #3f7be0; } .node.pivot rect { fill: #fff5d6; stroke: #c98d00; }
        .node.readonly rect { fill: #f1f1f1; stroke: #8893a7; }
        .legend span { margin-right: 1em; } .legend i { display: inline-block; width: .8em; height: .8em; margin-right: .3em; }
        .l-fwd { background: #3f7be0; } .l-ok { background: #2e9a4a; } .l-fail { background: #d0443b; } .l-retry { background: #e89a2c; }
        .l-comp { background: #8a5cd1; } .l-probe { background: #4bb3b3; } .l-int { background: #f2b705; }
        .pager { margin: .5em 0; display: flex; gap: 1em; }
        """

    /// Live updates without inline script: every element with `data-live` is refreshed from the same URL every
    /// few seconds (the page works the same without it, by reloading).
    static let js = """
        (function () {
          "use strict";
          var live = document.querySelectorAll("[data-live]");
          if (!live.length || !window.fetch || !window.DOMParser) { return; }
          var busy = false;
          function refresh() {
            if (busy || document.hidden) { return; }
            var active = document.activeElement;
            if (active && (active.tagName === "TEXTAREA" || active.tagName === "INPUT" || active.tagName === "SELECT")) { return; }
            busy = true;
            fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
              .then(function (response) { return response.ok ? response.text() : null; })
              .then(function (text) {
                if (!text) { return; }
                var fresh = new DOMParser().parseFromString(text, "text/html");
                document.querySelectorAll("[data-live]").forEach(function (element) {
                  var replacement = fresh.getElementById(element.id);
                  if (replacement && replacement.innerHTML !== element.innerHTML) { element.innerHTML = replacement.innerHTML; }
                });
              })
              .catch(function () {})
              .then(function () { busy = false; });
          }
          window.setInterval(refresh, 2000);
        })();
        """
}
