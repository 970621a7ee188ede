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

/** The lines on one time axis (uPlot's aligned data), x in seconds as uPlot wants it. */
export function alignLines(lines: readonly ChartLine[]): uPlot.AlignedData {
  const times = [...new Set(lines.flatMap((line) => line.timestamps))].sort((a, b) => a - b);
  const columns = lines.map((line) => {
    const byTime = new Map<number, number | null>();
    line.timestamps.forEach((time, index) => byTime.set(time, line.values[index] ?? null));
    return times.map((time) => byTime.get(time) ?? null);
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
}

/**
 * A time-series chart (uPlot, canvas). With no point to draw it shows `[data-testid=no-data]`
 * instead. Its width follows its container.
 */
export function Chart(props: ChartProps) {
  const { testid, data = {}, title, unit, lines, height = 180, empty, xRange } = props;
  const attributes = Object.fromEntries(
    Object.entries(data).map(([name, value]) => [`data-${name}`, value]),
  );
  const drawable = hasPoints(lines);
  return (
    <figure class="chart" data-testid={testid} {...attributes}>
      <figcaption>{title}</figcaption>
      {drawable ? (
        <Plot lines={lines} unit={unit} height={height} xRange={xRange} />
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
}

function Plot({ lines, unit, height, xRange }: PlotProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  // Read by the scale at each redraw, so a moving window needs no new plot.
  const range = useRef(xRange);
  range.current = xRange;
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

  return <div class="plot" ref={container} />;
}
