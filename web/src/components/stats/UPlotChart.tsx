// A thin React wrapper around uPlot: the plot is created when the component mounts (and again if
// its options change), fed with setData when the data changes, resized to its container's width
// with a ResizeObserver, and destroyed on unmount. uPlot draws on a canvas and sets sizes through
// element.style, which the page's CSP (style-src 'self') allows; its stylesheet is bundled here.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface UPlotChartProps {
  /** Everything but the size; keep it stable (useMemo), a new object rebuilds the plot. */
  options: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  height: number;
  /** The chart's accessible name: the canvas says nothing to a screen reader. */
  label: string;
}

const MIN_WIDTH = 200;

export function UPlotChart({ options, data, height, label }: UPlotChartProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);
  // The latest data, for a plot (re)built after the first render.
  const dataRef = useRef(data);
  useEffect(() => {
    dataRef.current = data;
  });

  useEffect(() => {
    const el = containerRef.current;
    if (!el) return;
    const widthOf = () => Math.max(MIN_WIDTH, Math.floor(el.clientWidth));
    const plot = new uPlot({ ...options, width: widthOf(), height }, dataRef.current, el);
    plotRef.current = plot;
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        const width = widthOf();
        if (width !== plot.width || height !== plot.height) plot.setSize({ width, height });
      });
    });
    observer.observe(el);
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      plot.destroy();
      plotRef.current = null;
    };
  }, [options, height]);

  useEffect(() => {
    plotRef.current?.setData(data);
  }, [data]);

  return <div ref={containerRef} className="uplot-host" role="img" aria-label={label} />;
}
