/** Original beside staged: frames rendered by GET .../rendered, with a frame slider for multi-frame. */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";

/** A redaction box of the pixel profile, in pixels of the frame (from the audit's cleanPixel entries). */
export interface Box {
  frame: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The cleanPixel entries of an instance's audit as boxes ("frame F x X y Y width W height H ..."). */
export function boxesOf(changes: Array<{ action: string; after: string | null }>): Box[] {
  const out: Box[] = [];
  for (const c of changes) {
    if (c.action !== "cleanPixel" || !c.after) continue;
    const m = /^frame (\d+) x (\d+) y (\d+) width (\d+) height (\d+)/.exec(c.after);
    if (m) out.push({ frame: +m[1]!, x: +m[2]!, y: +m[3]!, width: +m[4]!, height: +m[5]! });
  }
  return out;
}

function Frame(props: {
  session: string;
  index: number;
  frame: number;
  version: "original" | "staged";
  boxes?: Box[];
}) {
  const [size, setSize] = useState<[number, number] | null>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let made: string | null = null;
    setError(null);
    api.rendered(props.session, props.index, props.frame, props.version).then(
      (blob) => {
        if (!live) return;
        made = URL.createObjectURL(blob);
        setUrl(made);
      },
      (e: Error) => live && (setUrl(null), setError(e.message)),
    );
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [props.session, props.index, props.frame, props.version]);
  return (
    <figure class="frame">
      <figcaption>{props.version}</figcaption>
      {error ? (
        <p class="note" role="status">
          {error}
        </p>
      ) : url ? (
        <div class="canvas">
          <img
            src={url}
            alt={`instance ${props.index + 1}, frame ${props.frame}, ${props.version}`}
            data-testid={`image-${props.version}`}
            onLoad={(e) => {
              const img = e.currentTarget as HTMLImageElement;
              setSize([img.naturalWidth, img.naturalHeight]);
            }}
          />
          {size &&
            props.boxes?.map((b, i) => (
              <div
                key={i}
                class="redaction"
                data-testid="redaction-box"
                title={`redacted: x ${b.x} y ${b.y} width ${b.width} height ${b.height}`}
                style={{
                  left: `${(100 * b.x) / size[0]}%`,
                  top: `${(100 * b.y) / size[1]}%`,
                  width: `${(100 * b.width) / size[0]}%`,
                  height: `${(100 * b.height) / size[1]}%`,
                }}
              />
            ))}
        </div>
      ) : (
        <p class="note">loading…</p>
      )}
    </figure>
  );
}

export function Images(props: {
  session: string;
  index: number;
  frames: number;
  staged: boolean;
  boxes?: Box[];
}) {
  const [frame, setFrame] = useState(1);
  useEffect(() => setFrame(1), [props.session, props.index]);
  return (
    <section aria-labelledby="images-title" class="images">
      <h3 id="images-title">Images</h3>
      {props.frames > 1 && (
        <label>
          frame {frame} of {props.frames}{" "}
          <input
            type="range"
            min={1}
            max={props.frames}
            value={frame}
            onInput={(e) => setFrame(Number((e.target as HTMLInputElement).value))}
          />
        </label>
      )}
      {props.boxes && props.boxes.length > 0 && (
        <p class="note" data-testid="redaction-count">
          {props.boxes.length} redaction box(es) drawn on the original
        </p>
      )}
      <div class="pair">
        <Frame
          session={props.session}
          index={props.index}
          frame={frame}
          version="original"
          boxes={props.boxes?.filter((b) => b.frame === frame)}
        />
        {props.staged && <Frame session={props.session} index={props.index} frame={frame} version="staged" />}
      </div>
    </section>
  );
}
