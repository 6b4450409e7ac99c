/** Original beside staged: frames rendered by GET .../rendered, with a frame slider for multi-frame. */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";

function Frame(props: { session: string; index: number; frame: number; version: "original" | "staged" }) {
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
        <img
          src={url}
          alt={`instance ${props.index + 1}, frame ${props.frame}, ${props.version}`}
          data-testid={`image-${props.version}`}
        />
      ) : (
        <p class="note">loading…</p>
      )}
    </figure>
  );
}

export function Images(props: { session: string; index: number; frames: number; staged: boolean }) {
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
      <div class="pair">
        <Frame session={props.session} index={props.index} frame={frame} version="original" />
        {props.staged && <Frame session={props.session} index={props.index} frame={frame} version="staged" />}
      </div>
    </section>
  );
}
