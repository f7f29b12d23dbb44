"""Python binding of libwmfeat through ctypes. Classes mirror the C API (one module per C header);
every failing call raises wmfeat.Error carrying wmf_last_error(). See docs/python.md."""
from ._lib import Error, clear_error, last_error, load_npy, save_npy, status_name, version, version_number
from .audit import (D_THRESHOLDS, FDR, IMAGENET_CARTON, IMAGENET_CLASSES, NO_LABEL, RANKINGS, Audit, Order,
                    Score, Target, auc, benjamini_hochberg, compare_reports, imagenet_class_name, imagenet_index,
                    imagenet_wnid, list_fingerprint, preprocess_description, relative_to_input, run_provenance,
                    write_svg_threshold_counts)
from .image import BICUBIC, BILINEAR, IMAGENET, INCEPTION, DecodeOptions, Image, Normalize
from .mask import Mask, Rank, Rule
from .model import ConvAlgorithm, Model, Precision, Session, TransformInput, arch_names, has_bf16, isa
from .pairs import audit_files, list_images, pair_images, watermark_seed, write_reports
from .probe import (PAPER_FRACTIONS, ConvergenceWarning, Probe, ProbeOptions, TrainingInfo, sweep, write_auc_distribution_svg,
                    write_curve_svg)
from .watermark import Draw, Font, Placement, Watermark, describe_preset, presets
from .weights import DType, TensorInfo, Weights, dtype_name

__all__ = ["Error", "version", "version_number", "status_name", "last_error", "clear_error", "save_npy", "load_npy",
           "Image", "DecodeOptions", "Normalize", "IMAGENET", "INCEPTION", "BILINEAR", "BICUBIC",
           "Weights", "DType", "TensorInfo", "dtype_name",
           "Audit", "Target", "Score", "Order", "auc", "imagenet_class_name", "imagenet_wnid", "imagenet_index",
           "NO_LABEL", "IMAGENET_CLASSES", "IMAGENET_CARTON", "D_THRESHOLDS", "FDR", "RANKINGS", "benjamini_hochberg",
           "write_svg_threshold_counts", "compare_reports",
           "list_fingerprint", "preprocess_description", "relative_to_input", "run_provenance",
           "Mask", "Rank", "Rule",
           "Model", "Session", "Precision", "ConvAlgorithm", "TransformInput", "isa", "has_bf16", "arch_names",
           "Probe", "ProbeOptions", "TrainingInfo", "ConvergenceWarning", "write_curve_svg", "write_auc_distribution_svg", "sweep",
           "PAPER_FRACTIONS",
           "audit_files", "list_images", "pair_images", "watermark_seed", "write_reports",
           "Font", "Watermark", "Placement", "Draw", "presets", "describe_preset"]
