import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatValue } from '../format';

/** One line of a chart: epoch ms and values side by side; null is a gap. */
export interface ChartLine {
  label: string;
  timestamps: readonly number[];
  values: readonly (number | null)[];
  color?: string;
  /** A dashed line: thresholds and limits. */
  dashed?: boolean;
}

const palette = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d'];

/**
 * A moment on the time axis, drawn as a vertical line with a label: a release event (start,
 * gray deployed, a batch, the breach, the rollback). With an href its label is a link.
 */
export interface ChartMarker {
  /** Epoch ms. */
  at: number;
  /** What happened: `start`, `gray_deployed`, `batch`, `breach`, `rollback_begun`… */
  kind: string;
  /** Shown on the chart: keep it short. */
  label: string;
  /** The whole story, in the label's tooltip (the label when absent). */
  detail?: string;
  /** A browser address (e.g. the release's console page). */
  href?: string;
}

/** A span of the time axis, shaded under the lines: a phase (gray bake, a batch, a window). */
export interface ChartBand {
  /** Epoch ms. */
  from: number;
  /** Epoch ms; open (still running) when absent: it reaches the right edge. */
  to?: number;
  kind: string;
  label: string;
}

const markerColors: Record<string, string> = {
  start: '#475569',
  gray_deployed: '#d97706',
  batch: '#2563eb',
  breach: '#dc2626',
  rollback_begun: '#dc2626',
  rollback_done: '#b91c1c',
  succeeded: '#16a34a',
  failed: '#b91c1c',
  cancelled: '#6b7280',
};

const bandColors: Record<string, string> = {
  gray_bake: 'rgba(217, 119, 6, 0.12)',
  batch: 'rgba(37, 99, 235, 0.08)',
  verification: 'rgba(147, 51, 234, 0.10)',
  rollback: 'rgba(220, 38, 38, 0.12)',
};

const markerColor = (kind: string): string => markerColors[kind] ?? '#475569';
const bandColor = (kind: string): string => bandColors[kind] ?? 'rgba(100, 116, 139, 0.10)';

/** What a test (or a person with dev tools) reads of a drawn line: `data-series` on the figure. */
export interface SeriesSummary {
  label: string;
  /** Samples that have a value (nulls are gaps). */
  count: number;
  min: number | null;
  max: number | null;
}

export function summarizeLines(lines: readonly ChartLine[]): SeriesSummary[] {
  return lines.map((line) => {
    const values = line.values.filter((value): value is number => value !== null);
    return {
      label: line.label,
      count: values.length,
      min: values.length === 0 ? null : Math.min(...values),
      max: values.length === 0 ? null : Math.max(...values),
    };
  });
}

/** The lines on one time axis (uPlot's aligned data), x in seconds as uPlot wants it. */
export function alignLines(lines: readonly ChartLine[]): uPlot.AlignedData {
  const times = [...new Set(lines.flatMap((line) => line.timestamps))].sort((a, b) => a - b);
  const columns = lines.map((line) => {
    const byTime = new Map<number, number | null>();
    line.timestamps.forEach((time, index) => byTime.set(time, line.values[index] ?? null));
    // A time only another line has is undefined here, which uPlot draws across; null is a
    // real gap in this line's own samples. Lines of different steps (a short-lived version
    // queried finely beside the hour's) then stay whole.
    return times.map((time) => (byTime.has(time) ? (byTime.get(time) ?? null) : undefined));
  });
  return [times.map((time) => time / 1000), ...columns];
}

function hasPoints(lines: readonly ChartLine[]): boolean {
  return lines.some((line) => !line.dashed && line.values.some((value) => value !== null));
}

export interface ChartProps {
  /** data-testid of the figure: `red-chart`, `guard-chart`, `metric-chart`. */
  testid: string;
  /** Further data- attributes of the figure (`data-metric`, `data-rule`). */
  data?: Record<string, string>;
  title: string;
  unit: string;
  lines: readonly ChartLine[];
  height?: number;
  /** Said instead of a chart when there is nothing to draw (or why there is not). */
  empty?: string;
  /** The time shown (epoch ms), e.g. the hour asked for; by default the data's own span. */
  xRange?: readonly [number, number];
  /** Vertical lines with a label (a link with href): `[data-testid=chart-marker]`. */
  markers?: readonly ChartMarker[];
  /** Shaded spans under the lines: `[data-testid=chart-band]`. */
  bands?: readonly ChartBand[];
}

/**
 * A time-series chart (uPlot, canvas). With no point to draw it shows `[data-testid=no-data]`
 * instead. Its width follows its container. Markers and bands are drawn on the canvas by a
 * uPlot plugin, with their labels as HTML over the plot (links, clickable and testable). The
 * figure's `data-series` is the JSON of each line's {label, count, min, max}.
 */
export function Chart(props: ChartProps) {
  const {
    testid,
    data = {},
    title,
    unit,
    lines,
    height = 180,
    empty,
    xRange,
    markers = [],
    bands = [],
  } = props;
  const attributes = Object.fromEntries(
    Object.entries(data).map(([name, value]) => [`data-${name}`, value]),
  );
  const drawable = hasPoints(lines);
  return (
    <figure
      class="chart"
      data-testid={testid}
      data-series={JSON.stringify(summarizeLines(lines))}
      {...attributes}
    >
      <figcaption>{title}</figcaption>
      {drawable ? (
        <Plot
          lines={lines}
          unit={unit}
          height={height}
          xRange={xRange}
          markers={markers}
          bands={bands}
        />
      ) : (
        <p class="no-data" data-testid="no-data" style={{ height: `${height}px` }}>
          {empty ?? 'no data'}
        </p>
      )}
    </figure>
  );
}

interface PlotProps {
  lines: readonly ChartLine[];
  unit: string;
  height: number;
  xRange: readonly [number, number] | undefined;
  markers: readonly ChartMarker[];
  bands: readonly ChartBand[];
}

interface Annotations {
  markers: readonly ChartMarker[];
  bands: readonly ChartBand[];
}

/** Device pixels of a time (epoch ms) on the canvas's x axis. */
const canvasX = (u: uPlot, at: number): number => u.valToPos(at / 1000, 'x', true);

/**
 * A uPlot plugin drawing bands (shaded, under the lines: drawClear) and markers (vertical
 * lines, over them: draw) on uPlot's canvas, and their labels as HTML in uPlot's over layer,
 * placed at each redraw (zoom, resize, new data). It reads the annotations at each redraw, so
 * new markers need only a redraw, not a new plot.
 */
function annotationsPlugin(read: () => Annotations): uPlot.Plugin {
  const layer = document.createElement('div');
  layer.className = 'chart-annotations';
  const labels = new AnnotationLabels(layer);
  const inView = (u: uPlot, at: number): boolean => {
    const scale = u.scales.x;
    if (scale === undefined) return false;
    const { min, max } = scale;
    return min !== undefined && max !== undefined && at / 1000 >= min && at / 1000 <= max;
  };
  return {
    hooks: {
      init: (u) => {
        u.over.appendChild(layer);
      },
      drawClear: (u) => {
        const { ctx, bbox } = u;
        ctx.save();
        ctx.beginPath();
        ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
        ctx.clip();
        for (const band of read().bands) {
          const left = Math.max(canvasX(u, band.from), bbox.left);
          const right = Math.min(
            band.to === undefined ? bbox.left + bbox.width : canvasX(u, band.to),
            bbox.left + bbox.width,
          );
          if (right <= left) continue;
          ctx.fillStyle = bandColor(band.kind);
          ctx.fillRect(left, bbox.top, right - left, bbox.height);
        }
        ctx.restore();
      },
      draw: (u) => {
        const { ctx, bbox } = u;
        const annotations = read();
        ctx.save();
        ctx.lineWidth = Math.max(1, devicePixelRatio);
        ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        for (const marker of annotations.markers) {
          if (!inView(u, marker.at)) continue;
          const x = Math.round(canvasX(u, marker.at)) + 0.5;
          ctx.strokeStyle = markerColor(marker.kind);
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
        }
        ctx.restore();
        labels.place(u, annotations, inView);
      },
    },
  };
}

/** Row height of a marker's label, CSS pixels. */
const labelRow = 14;

/**
 * The HTML labels over the plot: one link per marker, one box per band. The elements are made
 * again only when the annotations change (a link being clicked is never replaced by a redraw);
 * each redraw places them (CSS pixels), markers' labels in the first row where they do not
 * cover an earlier one, so events close in time stay readable and clickable.
 */
class AnnotationLabels {
  private key = '';
  private bands: HTMLElement[] = [];
  private markers: HTMLElement[] = [];

  constructor(private readonly layer: HTMLElement) {}

  place(u: uPlot, annotations: Annotations, inView: (u: uPlot, at: number) => boolean) {
    const key = JSON.stringify(annotations);
    if (key !== this.key) {
      this.key = key;
      this.build(annotations);
    }
    const width = u.over.clientWidth;
    const cssX = (at: number): number => u.valToPos(at / 1000, 'x');
    annotations.bands.forEach((band, index) => {
      const element = this.bands[index]!;
      const left = Math.max(0, cssX(band.from));
      const right = Math.min(width, band.to === undefined ? width : cssX(band.to));
      element.style.left = `${left}px`;
      element.style.width = `${Math.max(0, right - left)}px`;
      element.style.display = right <= left ? 'none' : '';
    });
    const rowEnds: number[] = [];
    const shown = annotations.markers
      .map((marker, index) => ({ marker, element: this.markers[index]! }))
      .filter(({ marker, element }) => {
        const visible = inView(u, marker.at);
        element.style.display = visible ? '' : 'none';
        return visible;
      })
      .sort((a, b) => a.marker.at - b.marker.at);
    for (const { marker, element } of shown) {
      const x = cssX(marker.at);
      element.style.left = `${x}px`;
      const half = element.offsetWidth / 2;
      let row = rowEnds.findIndex((end) => end + 2 <= x - half);
      if (row === -1) row = rowEnds.length;
      rowEnds[row] = x + half;
      element.style.top = `${row * labelRow}px`;
    }
  }

  private build({ markers, bands }: Annotations) {
    this.bands = bands.map((band) => {
      const element = document.createElement('div');
      element.dataset.testid = 'chart-band';
      element.dataset.kind = band.kind;
      element.dataset.from = String(band.from);
      if (band.to !== undefined) element.dataset.to = String(band.to);
      element.className = 'chart-band';
      element.title = band.label;
      element.textContent = band.label;
      return element;
    });
    this.markers = markers.map((marker) => {
      const element = document.createElement(marker.href === undefined ? 'span' : 'a');
      if (element instanceof HTMLAnchorElement && marker.href !== undefined) {
        element.href = marker.href;
      }
      element.dataset.testid = 'chart-marker';
      element.dataset.kind = marker.kind;
      element.dataset.at = String(marker.at);
      element.className = 'chart-marker';
      element.title = `${marker.detail ?? marker.label} (${new Date(marker.at).toLocaleString()})`;
      element.textContent = marker.label;
      element.style.borderColor = markerColor(marker.kind);
      return element;
    });
    this.layer.replaceChildren(...this.bands, ...this.markers);
  }
}

function Plot({ lines, unit, height, xRange, markers, bands }: PlotProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  // Read by the scale at each redraw, so a moving window needs no new plot.
  const range = useRef(xRange);
  range.current = xRange;
  // Read by the annotations plugin at each redraw.
  const annotations = useRef<Annotations>({ markers, bands });
  annotations.current = { markers, bands };
  const annotationKey = JSON.stringify([markers, bands]);
  // A new set of lines (labels, styles) needs a new plot; new values only new data.
  const shape = JSON.stringify(lines.map((line) => [line.label, line.color, line.dashed]));

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height,
      scales: {
        x: {
          time: true,
          range: (_plot, min, max): uPlot.Range.MinMax => {
            if (range.current !== undefined) {
              return [range.current[0] / 1000, range.current[1] / 1000];
            }
            // One point has no span: a minute either side of it.
            return min === max ? [min - 60, max + 60] : [min, max];
          },
        },
        // From zero: a rate or a latency read against its own wobble looks like a cliff.
        y: {
          range: (_plot, min, max): uPlot.Range.MinMax => [
            Math.min(0, min),
            max > 0 ? max * 1.1 : 1,
          ],
        },
      },
      cursor: { drag: { x: true, y: false } },
      legend: { show: true },
      plugins: [annotationsPlugin(() => annotations.current)],
      axes: [
        {},
        {
          size: 88,
          values: (_plot, splits) => splits.map((value) => formatValue(value, unit)),
        },
      ],
      series: [
        { label: 'time' },
        ...lines.map((line, index) => ({
          label: line.label,
          stroke: line.color ?? palette[index % palette.length],
          width: line.dashed ? 1 : 1.5,
          ...(line.dashed ? { dash: [6, 4] } : {}),
          value: (_plot: uPlot, value: number | null) => formatValue(value, unit),
        })),
      ],
    };
    const chart = new uPlot(options, alignLines(lines), element);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(element.clientWidth, 200), height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = undefined;
    };
    // Rebuilt only when the shape changes; the next effect feeds it new data.
  }, [shape, unit, height]);

  useEffect(() => {
    plot.current?.setData(alignLines(lines));
  }, [lines]);

  useEffect(() => {
    plot.current?.redraw(false);
  }, [annotationKey]);

  return <div class="plot" ref={container} />;
}
