package biolayers

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// window describes a sliding window (convolution kernel or pooling window) over the spatial axes of a
// channels-last tensor [batch, spatial..., channels].
type window struct {
	spatial   []int    // input spatial dimensions
	kernel    []int    // window size per spatial axis
	strides   []int    // step per spatial axis
	dilations []int    // kernel dilation per spatial axis
	pads      [][2]int // zero padding (before, after) per spatial axis
	out       []int    // output spatial dimensions
}

// newWindow validates the configuration and computes the output dimensions:
// out = floor((in + before + after − ((k−1)·d + 1)) / stride) + 1.
func newWindow(spatial, kernel, strides, dilations []int, pads [][2]int) *window {
	n := len(spatial)
	w := &window{spatial: spatial, kernel: kernel, strides: strides, dilations: dilations, pads: pads, out: make([]int, n)}
	if len(kernel) != n || len(strides) != n || len(dilations) != n || len(pads) != n {
		panicf("window configuration for %d spatial axes has kernel %v, strides %v, dilations %v, paddings %v",
			n, kernel, strides, dilations, pads)
	}
	for i := range n {
		if kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || pads[i][0] < 0 || pads[i][1] < 0 {
			panicf("invalid window configuration: kernel %v, strides %v, dilations %v, paddings %v",
				kernel, strides, dilations, pads)
		}
		eff := (kernel[i]-1)*dilations[i] + 1
		span := spatial[i] + pads[i][0] + pads[i][1] - eff
		if span < 0 {
			panicf("window %v (dilations %v) larger than the padded input %v (paddings %v)", kernel, dilations, spatial, pads)
		}
		w.out[i] = span/strides[i] + 1
	}
	return w
}

func prod(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

// samePaddings returns GoMLX's "same" paddings: ((k_eff−1)/2, k_eff/2) with k_eff = (k−1)·d + 1.
func samePaddings(kernel, dilations []int) [][2]int {
	pads := make([][2]int, len(kernel))
	for i := range kernel {
		eff := (kernel[i]-1)*dilations[i] + 1
		pads[i] = [2]int{(eff - 1) / 2, eff / 2}
	}
	return pads
}

// isIdentity reports whether the window is a 1×…×1 kernel with stride 1 and no padding (no gather needed).
func (w *window) isIdentity() bool {
	for i := range w.kernel {
		if w.kernel[i] != 1 || w.strides[i] != 1 || w.pads[i] != [2]int{0, 0} {
			return false
		}
	}
	return true
}

// isTiling reports whether the windows tile the input exactly (stride = window, no padding, no dilation,
// dimensions divisible), in which case pooling can be done by a reshape and a reduction.
func (w *window) isTiling() bool {
	for i := range w.kernel {
		if w.strides[i] != w.kernel[i] || w.pads[i] != [2]int{0, 0} || (w.dilations[i] != 1 && w.kernel[i] != 1) ||
			w.spatial[i]%w.kernel[i] != 0 {
			return false
		}
	}
	return true
}

// indices returns, for every (batch, output position, window position), the flat index into the
// [batch·prod(spatial), channels] view of the input, and a mask (per output position and window position)
// that is 1 for real input elements and 0 for padding (whose index then points at any valid element).
func (w *window) indices(batch int) (idx []int32, mask []float64, padded bool) {
	n := len(w.spatial)
	numOut, numK, numIn := prod(w.out), prod(w.kernel), prod(w.spatial)
	idx = make([]int32, batch*numOut*numK)
	mask = make([]float64, numOut*numK)
	o := make([]int, n)
	k := make([]int, n)
	pos := 0
	for oi := 0; oi < numOut; oi++ {
		// Decompose oi into o (row-major).
		rem := oi
		for a := n - 1; a >= 0; a-- {
			o[a] = rem % w.out[a]
			rem /= w.out[a]
		}
		for ki := 0; ki < numK; ki++ {
			rem := ki
			for a := n - 1; a >= 0; a-- {
				k[a] = rem % w.kernel[a]
				rem /= w.kernel[a]
			}
			flatPos, valid := 0, true
			for a := 0; a < n; a++ {
				p := o[a]*w.strides[a] - w.pads[a][0] + k[a]*w.dilations[a]
				if p < 0 || p >= w.spatial[a] {
					valid = false
					p = 0
				}
				flatPos = flatPos*w.spatial[a] + p
			}
			if valid {
				mask[pos] = 1
			} else {
				padded = true
				flatPos = 0
			}
			idx[pos] = int32(flatPos)
			pos++
		}
	}
	per := numOut * numK
	for b := 1; b < batch; b++ {
		off := int32(b * numIn)
		for j := 0; j < per; j++ {
			idx[b*per+j] = idx[j] + off
		}
	}
	return
}

// gatherPatches extracts the windows of x [batch, spatial..., channels] as [batch, numOut, numK, channels]
// with a single Gather (whose gradient, a scatter-add, works on the Go backend). The window must have no
// padding: pad x first with padSpatial.
func gatherPatches(x *graph.Node, w *window) *graph.Node {
	g := x.Graph()
	for _, p := range w.pads {
		if p != [2]int{0, 0} {
			panicf("gatherPatches: internal error, window with padding %v", w.pads)
		}
	}
	batch := x.Shape().Dimensions[0]
	channels := x.Shape().Dimensions[x.Rank()-1]
	numOut, numK, numIn := prod(w.out), prod(w.kernel), prod(w.spatial)
	idx, _, _ := w.indices(batch)
	idxNode := graph.Const(g, tensors.FromFlatDataAndDimensions(idx, len(idx), 1))
	params := graph.Reshape(x, batch*numIn, channels)
	patches := graph.Gather(params, idxNode, false) // [batch·numOut·numK, channels]
	return graph.Reshape(patches, batch, numOut, numK, channels)
}

// padSpatial pads the spatial axes of x [batch, spatial..., channels] with pads (before, after) per axis,
// filled with fill: a Gather (padding positions read element 0) followed by an elementwise product with a
// constant 0/1 mask of the same shape (and, for fill ≠ 0, the addition of a constant), so no broadcasting,
// Pad or Concatenate is involved and all gradients work on the Go backend. It also returns the padded
// spatial dimensions.
func padSpatial(x *graph.Node, pads [][2]int, fill float64) (*graph.Node, []int) {
	dims := x.Shape().Dimensions
	n := len(dims) - 2
	spatial := dims[1 : n+1]
	padded := make([]int, n)
	any := false
	for i := range n {
		padded[i] = spatial[i] + pads[i][0] + pads[i][1]
		if pads[i] != [2]int{0, 0} {
			any = true
		}
	}
	if !any {
		return x, padded
	}
	batch, channels := dims[0], dims[n+1]
	numIn, numPad := prod(spatial), prod(padded)
	idx := make([]int32, batch*numPad)
	maskData := make([]float64, batch*numPad*channels)
	var fillData []float64
	if fill != 0 {
		fillData = make([]float64, len(maskData))
	}
	pos := make([]int, n)
	for pi := 0; pi < numPad; pi++ {
		rem := pi
		for a := n - 1; a >= 0; a-- {
			pos[a] = rem % padded[a]
			rem /= padded[a]
		}
		flatPos, valid := 0, true
		for a := 0; a < n; a++ {
			p := pos[a] - pads[a][0]
			if p < 0 || p >= spatial[a] {
				valid, p = false, 0
			}
			flatPos = flatPos*spatial[a] + p
		}
		for b := 0; b < batch; b++ {
			if valid {
				idx[b*numPad+pi] = int32(b*numIn + flatPos)
				for c := 0; c < channels; c++ {
					maskData[(b*numPad+pi)*channels+c] = 1
				}
			} else {
				idx[b*numPad+pi] = int32(b * numIn)
				if fillData != nil {
					for c := 0; c < channels; c++ {
						fillData[(b*numPad+pi)*channels+c] = fill
					}
				}
			}
		}
	}
	g := x.Graph()
	outDims := append(append([]int{batch}, padded...), channels)
	y := graph.Gather(graph.Reshape(x, batch*numIn, channels), graph.Const(g, tensors.FromFlatDataAndDimensions(idx, len(idx), 1)), true)
	y = graph.Reshape(y, outDims...)
	y = graph.Mul(y, graph.ConvertDType(graph.Const(g, tensors.FromFlatDataAndDimensions(maskData, outDims...)), x.DType()))
	if fillData != nil {
		y = graph.Add(y, graph.ConvertDType(graph.Const(g, tensors.FromFlatDataAndDimensions(fillData, outDims...)), x.DType()))
	}
	return y, padded
}

// unpadded returns the window over the padded input equivalent to w (same kernel, strides and dilations,
// no padding).
func (w *window) unpadded(paddedSpatial []int) *window {
	return newWindow(paddedSpatial, w.kernel, w.strides, w.dilations, make([][2]int, len(w.kernel)))
}

// outputDims returns [batch, out..., channels].
func (w *window) outputDims(batch, channels int) []int {
	dims := append([]int{batch}, w.out...)
	return append(dims, channels)
}
