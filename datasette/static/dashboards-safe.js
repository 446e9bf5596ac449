/* narrative-archive: safe table and metric renderers for datasette-dashboards 0.8.
 *
 * Loaded after the plugin's dashboards.js (see templates/dashboard_view.html), these
 * function declarations replace the plugin's renderTableChart and renderMetricChart,
 * which write query results into innerHTML: a scraped headline such as
 * "<img src=x onerror=...>" would run in the reader's browser. Here every value
 * becomes a text node.
 *
 * Table charts accept one option beyond the plugin's:
 *   display: {links: {title: article_path}}
 * makes the `title` cell a link to the row's `article_path` (a path relative to the
 * Datasette root, or an http(s) URL) and hides the article_path column.
 */

async function fetchChartRows(chart, query_string, absolute_url) {
  const response = await fetch(getDataUrl(chart, query_string, absolute_url))
  const data = await response.json()
  if (!response.ok || data.ok === false) {
    throw new Error(data.error || `HTTP ${response.status}`)
  }
  return data
}

function chartElement(chart_slug) {
  return document.querySelector(`#chart-${chart_slug}`)
}

function showChartError(chart_slug, error) {
  const p = document.createElement('p')
  p.className = 'chart-error'
  p.textContent = `This chart's query failed: ${error.message}`
  chartElement(chart_slug).replaceChildren(p)
}

function safeHref(value, absolute_url) {
  if (typeof value !== 'string' || value === '') return null
  if (/^https?:\/\//i.test(value)) return value
  // Any other scheme (javascript:, data:) or a protocol-relative URL is refused.
  if (/^[a-z][a-z0-9+.-]*:/i.test(value) || value.startsWith('//')) return null
  return absolute_url + value.replace(/^\/+/, '')
}

function cellText(value) {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') return value.toLocaleString()
  return String(value)
}

async function renderTableChart(chart_slug, chart, query_string, absolute_url, full_height) {
  let data
  try {
    data = await fetchChartRows(chart, query_string, absolute_url)
  } catch (error) {
    showChartError(chart_slug, error)
    return
  }
  const display = chart.display || {}
  const links = display.links || {}
  const hidden = new Set(Object.values(links))
  const el = chartElement(chart_slug)

  if (!data.rows.length) {
    const p = document.createElement('p')
    p.className = 'chart-empty'
    p.textContent = display.empty || 'Nothing yet.'
    el.replaceChildren(p)
    return
  }

  const columns = Object.keys(data.rows[0]).filter(column => !hidden.has(column))
  const table = document.createElement('table')
  table.className = 'dashboard-table'
  const headRow = table.createTHead().insertRow()
  for (const column of columns) {
    const th = document.createElement('th')
    th.textContent = column
    headRow.appendChild(th)
  }
  const body = table.createTBody()
  for (const row of data.rows) {
    const tr = body.insertRow()
    for (const column of columns) {
      const td = tr.insertCell()
      const text = cellText(row[column])
      const href = links[column] ? safeHref(row[links[column]], absolute_url) : null
      if (href) {
        const a = document.createElement('a')
        a.href = href
        a.textContent = text
        td.appendChild(a)
      } else {
        td.textContent = text
      }
    }
  }

  const wrapper = document.createElement('div')
  wrapper.className = 'dashboard-table-wrapper'
  wrapper.appendChild(table)
  el.replaceChildren(wrapper)

  if (data.truncated) {
    enableChartTooltip(chart_slug)
  }
}

async function renderMetricChart(chart_slug, chart, query_string, absolute_url, full_height) {
  let data
  try {
    data = await fetchChartRows(chart, query_string, absolute_url)
  } catch (error) {
    showChartError(chart_slug, error)
    return
  }
  const display = chart.display || {}
  const value = data.rows.length ? data.rows[0][display.field] : null
  const p = document.createElement('p')
  p.className = 'dashboard-metric'
  p.textContent = `${display.prefix || ''}${cellText(value)}${display.suffix || ''}`
  const wrapper = document.createElement('div')
  wrapper.className = 'dashboard-metric-wrapper'
  wrapper.appendChild(p)
  chartElement(chart_slug).replaceChildren(wrapper)

  if (data.truncated) {
    enableChartTooltip(chart_slug)
  }
}
